"""The outbox in autocommit: the row commits with the statement, and is deleted later.

On a server database this is the path of a write whose process holds no valid lease."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core.signals import request_finished
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from django_smartcache.invalidation import (
    autocommit,
    backlog,
    bumps,
    dbwrites,
    outbox,
    recovery,
    sending,
)
from django_smartcache.models import PendingInvalidation
from tests.helpers import status
from tests.test_outbox import CACHE_DOWN, NO_BACKOFF, PRODUCT, TABLE, rows, save_price, warm
from tests.testapp.models import Category, Product

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_outbox", "no_lease"),
]

# SQLite: no second connection can read during a write. Collected only on a server
# database (a skip would count as a failure in CI).
_ON_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def server_only(test):
    return None if _ON_SQLITE else test


@pytest.fixture
def shop(shop):
    backlog.tidy(connections["default"])  # what the fixture's creates left
    return shop


def laptop_tags(shop) -> str:
    return f"m:testapp.product r:testapp.product:{shop['laptop'].pk}"


def test_crash_between_commit_and_bump_is_bumped_by_another_process(client, shop, monkeypatch):
    warm(client)
    with monkeypatch.context() as patch:  # the process dies right after the COMMIT
        patch.setattr(dbwrites, "bump_written", lambda *args: None)
        save_price(shop["laptop"], "5")
    assert rows() == [laptop_tags(shop)], "committed with the data, with the exact tags"
    sending._pending.clear()
    recovery.reset()  # the next reader is another process
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=5.00, Phone=499.00")
    assert rows() == []


@server_only
def test_the_row_is_invisible_to_others_until_the_statement_commits_with_it(shop):
    seen: list[int] = []

    def peek(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and TABLE not in sql:
            with outbox.private("default") as other, other.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
                seen.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(peek):
        save_price(shop["laptop"], "5")
    assert seen == [0], "uncommitted while the statement runs: one transaction"
    assert len(rows()) + sum(backlog.sizes().values()) >= 1


def test_a_failed_statement_takes_its_row_and_a_piggybacked_delete_back(shop):
    save_price(shop["phone"], "7")  # acknowledged: deleted with the next write on SQLite
    before = set(PendingInvalidation.objects.values_list("pk", flat=True))
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        Product.objects.filter(slug="laptop").update(slug="phone")
    after = set(PendingInvalidation.objects.values_list("pk", flat=True))
    assert after <= before, "no row of the failed statement"
    backlog.tidy(connections["default"])
    assert rows() == []


def test_acknowledged_rows_are_deleted_in_batches(shop):
    with CaptureQueriesContext(connection) as queries:
        for price in range(10, 20):
            save_price(shop["laptop"], str(price))
    deletes = [q for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    if connection.vendor == "sqlite":  # piggy-backed on the next write's transaction
        assert len(deletes) == 9 and backlog.sizes() == {"default": 1}
        request_finished.send(sender=None)  # the end of the request takes the rest
    else:  # the writer deletes nothing; the process's deleter thread does, in a batch
        assert deletes == []
        deadline = time.monotonic() + 5
        while (backlog.sizes() or rows()) and time.monotonic() < deadline:
            time.sleep(0.05)  # (the thread takes the ids, then deletes them)
    assert backlog.sizes() == {}
    assert rows() == []


def test_the_backlog_stays_bounded(shop, monkeypatch):
    monkeypatch.setattr(backlog, "BACKLOG", 5)
    monkeypatch.setattr(backlog, "LAZY", 60.0)  # the deleter thread waits: only the bound
    category = shop["category"]
    sizes = []
    for i in range(23):
        # create(): RETURNING on SQLite (row committed first, nothing piggy-backed)
        Product.objects.create(name=f"P{i}", slug=f"p{i}", price=1, category=category)
        sizes.append(backlog.sizes().get("default", 0))
        assert PendingInvalidation.objects.count() <= 5
    assert max(sizes) <= 4 and min(sizes) == 0, "deleted by the writer each time it filled"


def test_a_flush_deletes_this_processs_acknowledged_rows_without_bumping_them(
    client, shop, monkeypatch
):
    warm(client)
    monkeypatch.setattr(backlog, "LAZY", 60.0)
    Category.objects.filter(pk=shop["category"].pk).update(name="Laptops")
    bumped: list[list[str]] = []
    monkeypatch.setattr(bumps, "bump", lambda tags, **kw: bumped.append(tags) or True)
    recovery.flush()
    assert rows() == [] and bumped == [], "acknowledged: deleted, not bumped again"


def test_statements_that_must_run_outside_a_transaction_keep_the_older_path(shop):
    sqlite = connections["default"]
    assert autocommit.shareable(sqlite, "UPDATE t SET a = 1 WHERE id = %s")
    assert autocommit.shareable(sqlite, "  insert into t values (1)")
    for sql in (
        "TRUNCATE testapp_product",
        "ALTER TABLE testapp_product ADD COLUMN x int",
        "UPDATE t SET a = 1; DELETE FROM t",
        "VACUUM",
    ):
        assert not autocommit.shareable(sqlite, sql), sql
    if connection.vendor == "sqlite":
        assert not autocommit.shareable(sqlite, 'INSERT INTO t VALUES (1) RETURNING "id"')


def test_a_database_that_refuses_begin_falls_back_to_the_row_first(shop, monkeypatch):
    monkeypatch.setattr(autocommit, "_begin", lambda conn: "BEGIN NOT A STATEMENT")
    with NO_BACKOFF, CACHE_DOWN:
        for price in ("7", "6", "5"):
            save_price(shop["laptop"], price)
        assert "default" in autocommit._refused, "refused three times: not tried again"
    assert Product.objects.get(pk=shop["laptop"].pk).price == 5
    assert rows() == [PRODUCT] * 3, "the older path: widened rows, committed first, kept"
