"""Fills that read old data but store it under current tokens.

* PostgreSQL with the default isolation set by connection options
  (``OPTIONS["options"] = "-c default_transaction_isolation=..."``, a libpq option the
  backend passes through): a fill inside an atomic block reads its snapshot, older than
  the tokens it was stamped with, and is stored.
* A manual transaction's *held* tag keys evicted by Redis (allkeys-lru) before commit:
  another thread's fill of the old data is stored under recreated tokens and served
  after ``connection.commit()`` until the writing thread happens to settle.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django_redis import get_redis_connection

from django_smartcache.invalidation import recovery
from django_smartcache.stores.factory import get_store
from tests.adversarial_writes.common import (  # noqa: F401
    VENDOR,
    Product,
    prices,
    row_price,
    shop,
    warm,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(fn):
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:  # pragma: no cover - reported below
            out["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if "error" in out:
        raise out["error"]
    return out["value"]


def _repeatable_read(how: str) -> dict:
    if how == "libpq_options":
        return {"options": "-c default_transaction_isolation=repeatable\\ read"}
    from psycopg import IsolationLevel

    return {"isolation_level": IsolationLevel.REPEATABLE_READ}  # control: the library sees it


@pytest.mark.parametrize("how", ["isolation_level_option", "libpq_options"])
def test_postgresql_snapshot_fill_is_not_stored(shop, how):  # noqa: F811
    laptop = shop["laptop"].pk
    settings_dict = connection.settings_dict
    saved = settings_dict["OPTIONS"]
    connection.close()
    settings_dict["OPTIONS"] = {**saved, **_repeatable_read(how)}
    try:
        with transaction.atomic():
            Product.objects.count()  # the snapshot is taken here
            _in_thread(lambda: Product.objects.filter(pk=laptop).update(price=9))
            assert row_price(laptop) == Decimal("1.00")  # the snapshot's value, served
            assert prices()["laptop"] == "1.00"
        assert (row_price(laptop), prices()["laptop"]) == (Decimal("9.00"), "9.00"), (
            f"{how}: a fill computed from the snapshot was stored as fresh"
        )
    finally:
        connection.close()
        settings_dict["OPTIONS"] = saved


def _evict_held_tags() -> int:
    store = get_store()
    client = get_redis_connection("default")
    evicted = 0
    for key in client.scan_iter(match=store.tag_prefix + "*"):
        value = client.get(key)
        if value is not None and b"-H" in value:
            client.delete(key)
            evicted += 1
    return evicted


def test_a_hold_has_no_ttl_so_volatile_eviction_policies_never_drop_it(shop):  # noqa: F811
    store = get_store()
    client = get_redis_connection("default")
    warm(shop)
    transaction.set_autocommit(False)
    try:
        Product.objects.filter(pk=shop["laptop"].pk).update(price=9)
        held = [k for k in client.scan_iter(match=store.tag_prefix + "*") if b"-H" in client.get(k)]
        assert held, "the write held nothing"
        assert all(client.pttl(k) == -1 for k in held), "a hold has a TTL: volatile-* evicts it"
    finally:
        transaction.rollback()
        transaction.set_autocommit(True)


@pytest.mark.parametrize("evict", [False, True], ids=["control_no_eviction", "evicted"])
def test_evicted_hold_of_a_manual_transaction(shop, evict):  # noqa: F811
    """An allkeys-* policy may still drop a hold (docs/howto/redis.md): then the
    committed outbox row bounds the window, flushed by any process within OUTBOX_INTERVAL."""
    laptop = shop["laptop"].pk
    warm(shop)
    transaction.set_autocommit(False)
    try:
        Product.objects.filter(pk=laptop).update(price=9)
        if evict:
            assert _evict_held_tags() > 0  # Redis under memory pressure drops them
        # Another request, before the commit: reads (and stores) the committed old data.
        before = _in_thread(lambda: (row_price(laptop), prices()["laptop"]))
        assert before == (Decimal("1.00"), "1.00")
        connection.commit()
        if evict:
            _in_thread(recovery.flush)  # another process's periodic outbox flush
        after = _in_thread(lambda: (row_price(laptop), prices()["laptop"]))
    finally:
        transaction.set_autocommit(True)
    assert after == (Decimal("9.00"), "9.00"), "read after commit served the old entries"


if VENDOR != "postgresql":  # PostgreSQL connection options
    del test_postgresql_snapshot_fill_is_not_stored
