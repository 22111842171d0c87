"""The process-local tier (``SMARTCACHE["LOCAL"]``): hot hits without a round trip, and
every copy dropped the moment Redis says a tag (or the entry) changed, or when the push
connection is gone (guarantee 14). Needs a real Redis (fakeredis has no client tracking).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings

from django_smartcache import cached
from django_smartcache.stores import local
from django_smartcache.stores.factory import get_store
from tests.helpers import status

pytestmark = [pytest.mark.not_on_cluster, pytest.mark.django_db]


def _local(**options):
    # A key prefix of its own: Redis tracks key names across all databases, so another
    # test run on another database of the same server would push (and drop copies) too.
    conf = {**getattr(settings, "SMARTCACHE", {}), "LOCAL": options}
    return override_settings(SMARTCACHE={**conf, "KEY_PREFIX": f"lt{uuid.uuid4().hex[:8]}"})


@pytest.fixture
def tier(real_redis):
    with _local():
        yield
    local.reset()


def _hot(client: Client, url: str) -> None:
    client.get(url)
    assert status(client.get(url)) == "HIT"  # from Redis: now kept locally
    assert local.stats()["entries"] >= 1


def test_a_hot_hit_costs_no_round_trip(tier, client, shop, redis_commands):
    _hot(client, "/catalog/")
    redis_commands.reset()
    response = client.get("/catalog/")
    assert status(response) == "HIT" and b"Laptop=999.00" in response.content
    assert redis_commands.count == 0, redis_commands.commands
    assert local.stats()["hits"] == 1


def test_a_committed_write_drops_the_copy_before_the_next_read(
    tier, client, shop, django_capture_on_commit_callbacks
):
    _hot(client, "/catalog/")
    with django_capture_on_commit_callbacks(execute=True):
        shop["laptop"].price = Decimal("899.00")
        shop["laptop"].save()
    response = client.get("/catalog/")
    assert status(response) == "MISS" and b"Laptop=899.00" in response.content


def test_a_bump_from_another_process_drops_the_copy(tier, client, shop):
    _hot(client, "/catalog/")
    code = (
        "import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; "
        "from django.conf import settings; settings.SMARTCACHE = {'KEY_PREFIX': sys.argv[1]}; "
        "django.setup(); from django_smartcache import invalidate; "
        "invalidate('testapp.Category')"
    )
    prefix = settings.SMARTCACHE["KEY_PREFIX"]
    subprocess.run([sys.executable, "-c", code, prefix], check=True, timeout=60)
    assert status(client.get("/catalog/")) == "MISS", "a copy outlived another process's bump"


def test_a_deleted_entry_is_not_served_from_memory(tier, real_redis):
    calls = []

    @cached(60)
    def answer(n: int) -> int:
        calls.append(n)
        return n * len(calls)

    answer(2), answer(2)
    assert answer(2) == 2 and local.stats()["hits"] == 1
    answer.invalidate(2)  # a delete of the entry, not a bump
    assert answer(2) == 4 and len(calls) == 2


def test_a_local_hit_hands_out_a_value_of_its_own_unless_nothing_in_it_can_change(tier, real_redis):
    """A list from a cached function is decoded anew on every local hit (the caller may
    change it); a page (a tuple of strings, bytes and numbers) is decoded once and shared."""

    @cached(60)
    def rows(n: int) -> list:
        return [n, [n]]

    @cached(60)
    def frozen(n: int) -> tuple:
        return (n, (str(n), b"x"), 1.5, None)

    for fn in (rows, frozen):
        fn(1), fn(1)  # computed, then kept locally
    first = rows(1)
    first.append("changed by a caller")
    first[1].append("and deeper")
    assert rows(1) == [1, [1]], "a caller's change reached the next hit"
    assert rows(1) is not rows(1)
    assert frozen(1) is frozen(1) and frozen(1) == (1, ("1", b"x"), 1.5, None)
    assert local.stats()["hits"] >= 5


def test_losing_the_push_connection_drops_everything(tier, client, shop, redis_commands):
    _hot(client, "/catalog/")
    server = redis.Redis.from_url(get_store().cache.client._server[0])
    assert server.client_kill_filter(_type="pubsub") >= 1
    time.sleep(0.05)  # the kill reaches our socket
    redis_commands.reset()
    assert status(client.get("/catalog/")) == "HIT"  # from Redis, not from memory
    assert redis_commands.count >= 1
    assert local.stats()["entries"] == 0 or local.stats()["connected"] == 0


def test_a_killed_tracking_connection_drops_everything(tier, client, shop, redis_commands):
    _hot(client, "/catalog/")
    server = redis.Redis.from_url(get_store().cache.client._server[0])
    for found in server.client_list():
        if found.get("name") == "smartcache-local-tracking":
            server.client_kill_filter(_id=found["id"])
    time.sleep(0.05)
    redis_commands.reset()
    assert status(client.get("/catalog/")) == "HIT"
    assert redis_commands.count >= 1, "a copy was served while nothing watched it"


def test_flushdb_drops_everything(tier, client, shop):
    _hot(client, "/catalog/")
    redis.Redis.from_url(get_store().cache.client._server[0]).flushdb()
    time.sleep(0.05)
    assert status(client.get("/catalog/")) == "MISS"


def test_no_copy_is_older_than_max_age(real_redis, client, shop, redis_commands):
    with _local(MAX_AGE=0.2):
        _hot(client, "/catalog/")
        time.sleep(0.3)
        redis_commands.reset()
        assert status(client.get("/catalog/")) == "HIT"
        assert redis_commands.count >= 1, "a copy was served past MAX_AGE"
    local.reset()


def test_memory_stays_within_the_cap_under_churn(real_redis):
    cap = 200_000

    @cached(60)
    def page(n: int) -> str:
        return "x" * 1000 + str(n)

    with _local(MAX_BYTES=cap):
        most = 0
        for n in range(10_000):
            page(n)
            page(n)  # the second read is a Redis hit: kept locally
            most = max(most, local.stats()["bytes"])
        found = local.stats()
    local.reset()
    assert 0 < most <= cap, most
    # Another run's FLUSHDB on the same server pushes "everything" (a drop, not evictions).
    assert found["entries"] < 200
    assert found["evictions"] > 9_000 or (found["drops"] and found["evictions"] > 1_000)


def test_off_by_default(real_redis, client, shop, redis_commands):
    client.get("/catalog/")
    client.get("/catalog/")
    redis_commands.reset()
    client.get("/catalog/")
    assert redis_commands.count == 1 and local.stats() == {}


def test_the_admin_page_and_the_command_show_the_local_tier(real_redis, client, shop, admin_client):
    from io import StringIO

    from django.core.management import call_command

    with _local():
        _hot(client, "/catalog/")
        client.get("/catalog/")  # a local hit
        page = admin_client.get("/admin/django_smartcache/cachecontrol/")
        out = StringIO()
        call_command("smartcache", "stats", stdout=out)
    local.reset()
    html = page.content.decode()
    assert 'id="smartcache-local"' in html and "Local tier" in html, html[-2000:]
    assert "Local tier (per process" in out.getvalue()
    line = next(li for li in out.getvalue().splitlines() if f":{os.getpid()}" in li)
    assert line.split()[1:3] == ["1", "0"], line


def test_a_push_is_on_the_socket_before_the_write_is_acknowledged(tier, client, shop):
    """What the guarantee rests on: right after a bump returns, the push that names its tag
    is already readable, without blocking, on the tier's subscriber socket."""
    _hot(client, "/catalog/")
    tier_ = local.tier_for(get_store())
    late = 0
    for n in range(500):
        get_store().bump(["t:push-order", "m:testapp.category"][n % 2 :])
        with tier_.lock:
            if not tier_.sub.can_read(timeout=0):
                late += 1
            tier_._drain()
        _hot(client, "/catalog/")
    assert late == 0, f"{late} of 500 pushes were not there when the bump returned"
