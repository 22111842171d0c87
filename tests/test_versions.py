"""Self-validating entries: round trips, stable keys, eviction, and reads racing commits."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django_redis import get_redis_connection

from tests.helpers import status
from tests.testapp.models import Category, Product
from tests.views import CALLS, PAUSE

pytestmark = pytest.mark.django_db


def test_hit_is_one_round_trip_where_django_cache_page_takes_two(client, shop, redis_commands):
    client.get("/catalog/")
    client.get("/django/catalog/")
    redis_commands.reset()
    assert status(client.get("/catalog/")) == "HIT"
    ours = redis_commands.count
    redis_commands.reset()
    client.get("/django/catalog/")
    theirs = redis_commands.count
    assert CALLS["django_catalog"] == 1, "Django's cache_page must have hit too"
    assert (ours, theirs) == (1, 2), redis_commands.commands


def test_row_level_hit_is_one_round_trip(client, shop, redis_commands):
    assert status(client.get("/products/laptop/")) == "MISS"
    redis_commands.reset()
    assert status(client.get("/products/laptop/")) == "HIT"
    assert redis_commands.count == 1, redis_commands.commands


def test_miss_costs_three_round_trips_once_scripts_are_loaded(client, shop, redis_commands):
    client.get("/products/laptop/")  # loads the scripts
    redis_commands.reset()
    assert status(client.get("/products/phone/")) == "MISS"
    # read (MGET), lock + tokens (script), store (script). On a cluster, the store of an
    # entry with run-time dependencies (this view's product row) checks them on the tag
    # node before it writes the entry on its own node: one round trip more.
    cluster = settings.SMARTCACHE_TEST_BACKENDS["redis"] == "cluster"
    assert redis_commands.count == (4 if cluster else 3), redis_commands.commands


def _smartcache_keys(pattern: str) -> set[bytes]:
    return set(get_redis_connection("default").scan_iter(match=f"*{pattern}*"))


def test_lost_version_keys_turn_hits_into_misses(client, shop):
    client.get("/products/laptop/")
    client.get("/catalog/")
    version_keys = _smartcache_keys(":sc:v:")
    assert version_keys
    get_redis_connection("default").delete(*version_keys)
    assert status(client.get("/products/laptop/")) == "MISS"
    assert status(client.get("/catalog/")) == "MISS"
    assert status(client.get("/catalog/")) == "HIT"


def test_lost_invalidation_counter_does_not_stop_caching(client, shop):
    client.get("/products/laptop/")
    get_redis_connection("default").delete(*_smartcache_keys(":sc:seq"))
    client.get("/products/phone/")
    assert status(client.get("/products/phone/")) == "HIT"


def test_invalidation_leaves_no_orphaned_keys(client, shop):
    client.get("/products/laptop/")
    client.get("/catalog/")
    before = _smartcache_keys(":sc:")
    for _ in range(20):
        Product.objects.get(slug="laptop").save()
        client.get("/products/laptop/")
        client.get("/catalog/")
    assert _smartcache_keys(":sc:") == before


@override_settings(SMARTCACHE={"JITTER": 0.2, "STALE_TTL": 0})
def test_stored_ttl_carries_jitter(client, shop):
    ttls = set()
    for n in range(12):
        client.get(f"/catalog/?n={n}")
    redis = get_redis_connection("default")
    for key in _smartcache_keys(":sc:e:page:"):
        ttls.add(redis.pttl(key))
    # 60 s +-20 %, read back a little later (PTTL counts down)
    assert all(47_000 <= ttl <= 72_000 for ttl in ttls), ttls
    assert len(ttls) > 1


def _commit_price_while_view_is_paused(url: str, price: str) -> bytes:
    """Request ``url`` in a thread; change the laptop's price while the view is paused
    between reading the database and returning; return what the request returned."""
    PAUSE.enabled = True
    result = {}

    def read():
        result["response"] = Client().get(url)
        connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    assert PAUSE.has_read.wait(10), "the view never reached its pause point"
    laptop = Product.objects.get(slug="laptop")
    laptop.price = Decimal(price)
    laptop.save()  # autocommit: committed, then invalidated
    PAUSE.enabled = False
    PAUSE.resume.set()
    reader.join(10)
    return result["response"].content


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("url", "old", "new"),
    [
        ("/catalog/", b"Laptop=1.00", b"Laptop=2.00"),  # static dependency
        ("/products/laptop/", b"Laptop=1.00", b"Laptop=2.00"),  # found by depend_on() later
    ],
)
def test_reader_that_read_before_a_commit_cannot_publish_old_data_as_fresh(url, old, new):
    category = Category.objects.create(name="C", slug="c")
    Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)
    assert old in _commit_price_while_view_is_paused(url, "2.00")
    response = Client().get(url)
    assert new in response.content
    assert status(response) == "MISS"


@pytest.mark.django_db(transaction=True)
def test_reader_during_an_open_write_transaction_cannot_keep_old_data():
    category = Category.objects.create(name="C", slug="c")
    Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)
    saved, read_done = threading.Event(), threading.Event()
    errors = []

    def write():
        try:
            from django.db import transaction

            with transaction.atomic():
                laptop = Product.objects.get(slug="laptop")
                laptop.price = 3
                laptop.save()
                saved.set()
                read_done.wait(10)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    assert saved.wait(10)
    # Another connection reads while the write is not committed: the old price.
    assert b"Laptop=1.00" in Client().get("/products/laptop/").content
    read_done.set()
    writer.join(10)
    assert not errors
    response = Client().get("/products/laptop/")
    assert (status(response), response.content) == ("MISS", b"Laptop=3.00")
