"""A leased autocommit statement that raises may still have committed something.

On the outbox path the statement runs inside ``BEGIN ... COMMIT`` with its row: if it
raises, nothing was committed. On the lease path it runs alone, in autocommit, so a
failure does not mean "nothing written": ``executemany`` of ``UPDATE``s is run by the
driver as one statement after another, each committed on its own, and the one that fails
does not undo those before it; a reply lost after the server committed raises too. The
write must still be bumped (invalidate more, never less).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from tests.helpers import status
from tests.test_outbox import warm

from .common import leased, server_only  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


@server_only
def test_a_partly_committed_executemany_that_raises_is_bumped(client, leased):  # noqa: F811
    laptop, phone = leased["laptop"], leased["phone"]
    warm(client)
    sql = "UPDATE testapp_product SET name = %s, slug = %s WHERE id = %s"
    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        # The second row takes the first's new slug: a unique violation, after the first
        # UPDATE was committed (autocommit, one statement at a time).
        cursor.executemany(sql, [("Laptop2", "taken", laptop.pk), ("Phone2", "taken", phone.pk)])
    names = sorted(type(laptop).objects.values_list("name", flat=True))
    response = client.get("/catalog/")
    if names == ["Laptop", "Phone"]:  # the driver sent them as one transaction: nothing new
        assert response.content == b"Laptop=999.00, Phone=499.00"
        return
    assert names == ["Laptop2", "Phone"]
    assert (status(response), response.content) == ("MISS", b"Laptop2=999.00, Phone=499.00")


@server_only
def test_a_leased_statement_that_raises_is_bumped_anyway(client, leased, monkeypatch):  # noqa: F811
    """The server committed, then the reply was lost (simulated: the wrapper raises after
    the statement ran): the write happened, and nothing else will ever bump it."""
    from django_smartcache.invalidation import autocommit

    real = autocommit.write

    def lost_reply(connection, sql, tags, run, **kwargs):
        def run_then_fail():
            run()
            raise ConnectionError("lost connection to the server after COMMIT")

        return real(connection, sql, tags, run_then_fail, **kwargs)

    warm(client)
    monkeypatch.setattr(autocommit, "write", lost_reply)
    with pytest.raises(ConnectionError):
        type(leased["laptop"]).objects.filter(pk=leased["laptop"].pk).update(price="5")
    monkeypatch.undo()
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=5.00, Phone=499.00")
