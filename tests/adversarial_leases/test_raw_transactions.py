"""A raw transaction opened through a Django cursor (``cursor.execute("BEGIN")``).

Django still sees autocommit, so a write inside it reaches ``autocommit.write``: under
the lease the statement runs alone and is bumped at once, but it is not committed yet;
a reader on another connection caches the old data meanwhile, and the ``COMMIT`` that
follows is bumped by nobody. (The outbox path's own ``BEGIN`` ... ``COMMIT`` commits it
with the row before the bump.)
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tests.helpers import status
from tests.test_outbox import warm

from .common import leased, server_only  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


def _elsewhere(client) -> tuple[str, bytes]:
    """A request served on another thread: its own database connection."""
    found = []

    def get():
        try:
            response = client.get("/catalog/")
            found.append((status(response), response.content))
        finally:
            connections.close_all()

    thread = threading.Thread(target=get)
    thread.start()
    thread.join(30)
    return found[0]


@server_only
@pytest.mark.parametrize("begin", ["BEGIN", "START TRANSACTION"])
def test_a_write_inside_a_raw_transaction_is_bumped_after_its_commit(client, leased, begin):  # noqa: F811
    warm(client)
    with connection.cursor() as cursor:
        cursor.execute(begin)
        cursor.execute(
            "UPDATE testapp_product SET price = %s WHERE id = %s", ["5", leased["laptop"].pk]
        )
        # A reader meanwhile (it caches the old data, unless the app committed the
        # transaction early, as the outbox path's own BEGIN ... COMMIT does).
        assert _elsewhere(client)[1] in (
            b"Laptop=999.00, Phone=499.00",
            b"Laptop=5.00, Phone=499.00",
        )
        cursor.execute("COMMIT")
    assert _elsewhere(client)[1] == b"Laptop=5.00, Phone=499.00", "fresh after the COMMIT"
