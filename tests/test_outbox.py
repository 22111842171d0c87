"""The invalidation outbox: one row per transaction, kept when the bump fails, flushed by anyone."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.db import connection, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_smartcache import invalidate
from django_smartcache.core import breaker
from django_smartcache.invalidation import backlog, bumps, outbox, recovery, sending
from django_smartcache.invalidation.bumps import bump_on_commit
from django_smartcache.models import PendingInvalidation
from django_smartcache.stores.factory import get_store
from tests.helpers import status
from tests.test_errors import DOWN
from tests.testapp.models import Category, Product

TABLE = PendingInvalidation._meta.db_table
PRODUCT = "m:testapp.product p:testapp.product"
CATEGORY = "m:testapp.category p:testapp.category"
# Only the default cache is down; the other aliases that bumps reach stay up.
CACHE_DOWN = override_settings(CACHES={**settings.CACHES, "default": DOWN["default"]})
NO_BACKOFF = override_settings(SMARTCACHE={"ERROR_BACKOFF": 0, "ERROR_BACKOFF_MAX": 0})


pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


@pytest.fixture
def shop(shop):
    """The shop, without the acknowledged rows its autocommit creates leave for later."""
    backlog.tidy(connections["default"])
    return shop


def rows(using: str = "default") -> list[str]:
    found = PendingInvalidation.objects.using(using).order_by("pk")
    return list(found.values_list("tags", flat=True))


def outbox_statements(queries: CaptureQueriesContext) -> list[str]:
    """The verbs of the writes to the outbox table, in order (the test's own reads left out)."""
    verbs = [q["sql"].split()[0].upper() for q in queries.captured_queries if TABLE in q["sql"]]
    return [verb for verb in verbs if verb != "SELECT"]


@contextmanager
def statements():
    """The statements run on the default connection, in the order they start.

    (``CaptureQueriesContext`` logs a statement when it ends, so the outbox's own
    statements, run from inside the execute wrapper, would come first.)
    """
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql.split()[0].upper() + (" outbox" if TABLE in sql else ""))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def save_price(product: Product, price: str) -> None:
    product.price = Decimal(price)
    product.save()


def warm(client) -> None:
    client.get("/catalog/")
    assert status(client.get("/catalog/")) == "HIT"


# --------------------------------------------------------------------------- writing


def test_one_outbox_insert_per_transaction(shop):
    laptop, phone = shop["laptop"], shop["phone"]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for price in range(10, 15):
            Product.objects.filter(slug="laptop").update(price=price)
            save_price(laptop, str(price))
            save_price(phone, str(price))
        assert rows() == [PRODUCT], "row tags are widened to their model"
    assert outbox_statements(queries) == ["INSERT", "DELETE"], "one INSERT; one DELETE after"
    assert rows() == []

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        save_price(laptop, "20")
        Category.objects.update(name="Computing")  # a model the row does not name yet
        save_price(phone, "21")
        assert rows() == [" ".join(sorted(f"{PRODUCT} {CATEGORY}".split()))]
    assert outbox_statements(queries) == ["INSERT", "UPDATE", "DELETE"]


def test_the_per_transaction_cost_is_measured(shop):
    """Not a benchmark: prints what the outbox adds to a transaction with one save."""
    laptop = shop["laptop"]

    def run(n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            with transaction.atomic():
                save_price(laptop, str(i))
        return (time.perf_counter() - started) / n

    run(20)  # warm up connections and caches
    timings = {}
    for enabled in (False, True, False, True):
        with override_settings(SMARTCACHE={"OUTBOX": enabled}):
            timings.setdefault(enabled, []).append(run(100))
    off, on = min(timings[False]), min(timings[True])
    vendor = connection.vendor
    print(
        f"\noutbox cost on {vendor}: {on * 1e3:.2f} ms per transaction with one save "
        f"(without: {off * 1e3:.2f} ms, {(on - off) * 1e3:+.2f} ms): 1 INSERT in the "
        "transaction + 1 DELETE after the commit"
    )
    assert rows() == []


def test_outbox_off_writes_and_reads_nothing(client, shop):
    recovery.reset()  # forget the rows the fixture wrote
    with override_settings(SMARTCACHE={"OUTBOX": False}):
        warm(client)
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            save_price(shop["laptop"], "5")
        Product.objects.filter(slug="phone").update(price=6)
        assert outbox_statements(queries) == []
        assert client.get("/catalog/").content == b"Laptop=5.00, Phone=6.00"
    assert outbox.counters()["flushes"] == 0 and outbox.counters()["written"] == 0


def test_row_is_deleted_once_the_bump_lands(shop):
    with transaction.atomic():
        save_price(shop["laptop"], "5")
        assert rows() == [PRODUCT]
    assert rows() == []


def test_row_stays_when_the_bump_fails_and_the_next_flush_sends_it(client, shop):
    warm(client)
    with NO_BACKOFF, CACHE_DOWN, transaction.atomic():
        save_price(shop["laptop"], "5")
    assert rows() == [PRODUCT]
    assert f"r:testapp.product:{shop['laptop'].pk}" in sending._pending["default"]
    sending._pending.clear()  # only the outbox remembers it now
    breaker._breakers.clear()
    assert recovery.flush() == 1
    assert rows() == []
    assert client.get("/catalog/").content.startswith(b"Laptop=5.00")


def test_rolled_back_savepoint_takes_its_row_with_it(shop):
    with transaction.atomic():
        Product.objects.filter(pk=shop["phone"].pk).update(price=9)
        with pytest.raises(RuntimeError), transaction.atomic():
            Category.objects.update(name="Gone")
            assert rows() == [PRODUCT, CATEGORY]
            raise RuntimeError("roll back the savepoint")
        assert rows() == [PRODUCT], "the savepoint's row went with it"
    assert rows() == []


@pytest.mark.usefixtures("no_lease")
def test_autocommit_write_inserts_its_row_in_the_statements_transaction(shop):
    with statements() as seen:
        Product.objects.filter(slug="laptop").update(price=5)
    writes = [statement for statement in seen if statement != "SELECT"]  # write-through reads
    # BEGIN and COMMIT go to the driver directly; the DELETE comes later, in a batch.
    assert writes == ["INSERT outbox", "UPDATE"]
    backlog.tidy(connections["default"])
    assert rows() == []
    with NO_BACKOFF, CACHE_DOWN:
        Product.objects.filter(slug="laptop").update(price=6)
    assert rows() == [PRODUCT], "committed with the statement, kept since the bump failed"
    assert backlog.sizes() == {}, "a row whose bump failed is not acknowledged"


def test_failed_statement_removes_its_row(shop):
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        Product.objects.filter(slug="laptop").update(slug="phone")
    assert rows() == []


def test_failed_bump_in_autocommit_from_a_signal_is_written_to_the_outbox(db):
    with NO_BACKOFF, CACHE_DOWN:
        bump_on_commit(["r:testapp.tag:1", "m:testapp.tag"])
    assert rows() == ["m:testapp.tag p:testapp.tag"]


def test_invalidate_that_cannot_reach_the_cache_is_written_to_the_outbox(client, shop):
    warm(client)
    with NO_BACKOFF, CACHE_DOWN:
        invalidate(Product)
    assert rows() == [PRODUCT]
    sending._pending.clear()
    recovery.reset()  # another process
    assert status(client.get("/catalog/")) == "MISS"
    assert rows() == []


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_rows_go_to_the_written_database_and_every_database_is_flushed(client, shop):
    category = Category.objects.using("other").create(name="C", slug="c")
    Product.objects.using("other").create(name="Tablet", slug="tablet", price=1, category=category)
    backlog.tidy(connections["other"])
    warm(client)
    with NO_BACKOFF, CACHE_DOWN, transaction.atomic(using="other"):
        Product.objects.using("other").update(price=4)
    assert (rows("default"), rows("other")) == ([], [PRODUCT])
    breaker._breakers.clear()
    sending._pending.clear()
    recovery.reset()  # the reader is a new process
    assert status(client.get("/catalog/")) == "MISS", "first use: the flush reached 'other'"
    assert rows("other") == []


def test_missing_table_falls_back_without_failing_the_save(client, shop, caplog):
    warm(client)
    with connection.schema_editor() as editor:
        editor.alter_db_table(PendingInvalidation, TABLE, f"{TABLE}_away")
    recovery.reset()  # a process started before `migrate` created the table
    try:
        with caplog.at_level(logging.WARNING, "django_smartcache"), NO_BACKOFF, CACHE_DOWN:
            with transaction.atomic():
                save_price(shop["laptop"], "5")
            save_price(shop["phone"], "6")
        assert Product.objects.get(slug="laptop").price == Decimal("5")
        missing = [r for r in caplog.records if f"no {TABLE} table" in r.message]
        assert len(missing) == 1, "logged once"
        assert sending._pending, "the in-process retry keeps the bump"
    finally:
        with connection.schema_editor() as editor:
            editor.alter_db_table(PendingInvalidation, f"{TABLE}_away", TABLE)
    recovery.reset()
    with NO_BACKOFF:
        assert client.get("/catalog/").content == b"Laptop=5.00, Phone=6.00"


# --------------------------------------------------------------------------- flushing


def leave_row(tags: str = PRODUCT, age: float = 0.0) -> None:
    """A committed row whose bump never ran (a process died right after commit)."""
    created = timezone.now() - timedelta(seconds=age)
    PendingInvalidation.objects.create(tags=tags, created=created)


def commit_and_crash(monkeypatch, product: Product, price: str) -> None:
    """Commit a change, but die before the on_commit bump: only its outbox row is left."""
    with monkeypatch.context() as patch:
        patch.setattr(bumps._Batch, "flush", lambda self, index: None)
        with transaction.atomic():
            save_price(product, price)
    assert rows() == [PRODUCT]


def test_first_cache_use_flushes_before_serving(client, shop, monkeypatch):
    warm(client)
    commit_and_crash(monkeypatch, shop["laptop"], "5")
    recovery.reset()  # the next reader is a new process
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=5.00, Phone=499.00")
    assert rows() == []


def test_flush_is_idempotent_and_safe_from_several_threads(client, shop):
    warm(client)
    for _ in range(3):
        leave_row(age=5)
    errors: list[BaseException] = []

    def flush() -> None:
        try:
            recovery.flush()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=flush) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert recovery.flush() == 0, "nothing left: flushing again changes nothing"
    assert rows() == []
    assert status(client.get("/catalog/")) == "MISS"


def test_periodic_flush_leaves_young_rows_to_their_writer(client, shop):
    leave_row(tags="t:young")
    leave_row(tags="t:old", age=5)
    assert recovery.flush(everything=False) == 1
    assert rows() == ["t:young"]
    assert recovery.flush() == 1


@override_settings(SMARTCACHE={"OUTBOX_INTERVAL": 0.3})
def test_hits_check_the_outbox_at_most_every_interval(client, shop):
    recovery.reset()
    warm(client)  # the first use flushed
    flushes = outbox.counters()["flushes"]
    for _ in range(20):
        assert status(client.get("/catalog/")) == "HIT"
    assert outbox.counters()["flushes"] == flushes, "no check before the interval"
    leave_row(age=5)
    time.sleep(0.35)
    assert status(client.get("/catalog/")) == "MISS", "the periodic check flushed the row"
    assert outbox.counters()["flushes"] == flushes + 1


def test_breaker_probe_flushes_every_row_before_serving(client, shop, monkeypatch):
    warm(client)
    with NO_BACKOFF:  # (a settings change forgets breakers: the outage is simulated)
        store = get_store("default")
        with monkeypatch.context() as down:
            down.setattr(store, "read", _connection_refused)
            client.get("/catalog/")  # the breaker opens
        assert breaker.breaker("default").recovering
        leave_row()  # a young row: another process's write during the outage
        response = client.get("/catalog/")
        assert status(response) == "MISS", "the probe flushed the young row before reading"
        assert rows() == [] and not breaker.breaker("default").recovering


def _connection_refused(*args, **kwargs):
    raise redis.ConnectionError("Connection refused")
