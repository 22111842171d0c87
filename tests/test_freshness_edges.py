"""Freshness where the store cannot see everything: evicted tags, snapshots, key growth."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django_redis import get_redis_connection

from django_smartcache.stores.factory import get_store
from tests.helpers import status
from tests.testapp.models import Category, Product
from tests.views import PAUSE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def laptop():
    category = Category.objects.create(name="C", slug="c")
    return Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)


def _in_thread(fn) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert not errors, errors


def test_a_run_time_tag_bumped_then_evicted_during_a_fill_is_not_stored(laptop):
    """The row tag found by depend_on() is bumped and then lost before the store:
    recreating it would publish the old row as fresh."""
    PAUSE.enabled = True
    result = {}
    reader = threading.Thread(
        target=lambda: (result.update(r=Client().get("/products/laptop/")), connection.close())
    )
    reader.start()
    assert PAUSE.has_read.wait(10), "the view never reached its pause point"
    laptop.price = Decimal("2.00")
    laptop.save()  # committed and bumped
    redis = get_redis_connection("default")
    prefix = get_store().tag_prefix
    for key in redis.scan_iter(match=f"{prefix}r:*"):
        redis.delete(key)  # evicted
    PAUSE.enabled = False
    PAUSE.resume.set()
    reader.join(10)
    assert result["r"].content == b"Laptop=1.00"  # what it read before the commit
    after = Client().get("/products/laptop/")
    assert (after.content, status(after)) == (b"Laptop=2.00", "MISS"), (
        "the old row was stored as fresh after its tag was evicted"
    )


def test_distinct_paths_leave_no_key_without_an_expiry():
    """Every 404 path used to leave a permanent per-path tag key in Redis."""
    redis = get_redis_connection("default")
    prefix = get_store().tag_prefix

    def permanent() -> set[bytes]:
        return {k for k in redis.scan_iter(match=f"{prefix}*") if redis.pttl(k) == -1}

    client = Client()
    client.get("/products/nope-0/")
    before = permanent()
    for n in range(1, 60):
        assert client.get(f"/products/nope-{n}/").status_code == 404
    assert permanent() == before, "404 paths left tag keys that never expire"
    for key in redis.scan_iter(match=f"{prefix}u:*"):
        assert redis.pttl(key) > 0, f"{key!r} has no expiry"


def test_tags_of_a_stored_entry_live_as_long_as_the_entry(laptop):
    redis = get_redis_connection("default")
    prefix = get_store().tag_prefix
    assert Client().get("/products/laptop/").status_code == 200
    entries = list(redis.scan_iter(match="*:sc:e:*"))
    assert entries
    for entry in entries:
        raw = redis.get(entry)
        if not raw.startswith(b"E"):
            continue
        stamp = raw.partition(b"\0")[0].split(b"\t", 2)[2].split(b"\n")[0::2]
        entry_ttl = redis.pttl(entry)
        for tag in stamp:
            ttl = redis.pttl(prefix + tag.decode())
            assert ttl == -1 or ttl >= entry_ttl - 2000, f"{tag!r} expires before {entry!r}"


def test_a_bump_creates_no_key_for_a_row_nobody_cached(laptop):
    redis = get_redis_connection("default")
    prefix = get_store().tag_prefix
    for n in range(30):
        Product.objects.create(name=f"P{n}", slug=f"p{n}", price=1, category=laptop.category)
    for product in Product.objects.exclude(pk=laptop.pk):
        product.price = 2
        product.save()
    assert not list(redis.scan_iter(match=f"{prefix}r:*")), "bumps created row tag keys"


# --------------------------------------------------------------------------- snapshots


@contextmanager
def wal_mode():
    """SQLite: WAL mode for the database file, whose readers keep the view of their first
    read (elsewhere: nothing). Only one connection may be open to leave WAL again."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
    try:
        yield
    finally:
        connections.close_all()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=DELETE")
            assert cursor.fetchone()[0].lower() == "delete"


@contextmanager
def repeatable_read():
    """MySQL/MariaDB and PostgreSQL: REPEATABLE READ for this thread's session, Django told
    as ``OPTIONS["isolation_level"]`` would (SQLite: nothing)."""
    vendor = connection.vendor
    if vendor == "sqlite":
        yield
        return
    if vendor == "mysql":
        sql, level = "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "repeatable read"
    else:
        sql = "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"
        level = "REPEATABLE_READ"
    with connection.cursor() as cursor:
        cursor.execute(sql)
    original = connection.isolation_level
    connection.isolation_level = level
    try:
        yield
    finally:
        connection.isolation_level = original


def test_a_fill_inside_a_snapshot_older_than_a_commit_is_not_stored(laptop):
    """In a snapshot, a transaction reads what was committed at its first query; a
    commit after that is in the tokens but not in what the fill reads."""
    snapshot_taken, committed = threading.Event(), threading.Event()
    seen = {}

    def reader() -> None:
        with repeatable_read(), transaction.atomic():
            list(Product.objects.all())  # the snapshot starts here
            snapshot_taken.set()
            assert committed.wait(10)
            response = Client().get("/catalog/")
            seen["inside"] = response.content

    with wal_mode():
        thread = threading.Thread(target=lambda: _in_thread(reader))
        thread.start()
        assert snapshot_taken.wait(10)
        laptop.price = Decimal("5.00")
        laptop.save()
        committed.set()
        thread.join(20)
    assert seen["inside"] == b"Laptop=1.00"  # the snapshot's view
    after = Client().get("/catalog/")
    assert after.content == b"Laptop=5.00", "a snapshot older than the commit was stored"


def test_sqlite_in_wal_mode_counts_as_a_snapshot(db):
    from django_smartcache.core.snapshots import snapshot_may_predate

    if connection.vendor != "sqlite":
        with transaction.atomic():
            list(Product.objects.all())
            assert not snapshot_may_predate(), "READ COMMITTED was taken for a snapshot"
        return
    with connection.cursor() as cursor:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    try:
        with transaction.atomic():
            assert not snapshot_may_predate(), f"journal mode {mode} was taken for a snapshot"
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
        with transaction.atomic():
            list(Product.objects.all())
            assert snapshot_may_predate(), "a WAL transaction was not taken for a snapshot"
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA journal_mode={mode}")
