"""Single flight against a real Redis: concurrent cold requests run the view once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django.test import Client, override_settings
from django_redis import get_redis_connection

from tests.helpers import status
from tests.views import CALLS

CONCURRENCY = 200


def _burst(url: str) -> list:
    barrier = threading.Barrier(CONCURRENCY)

    def one(_):
        barrier.wait(5)
        try:
            return Client().get(url)
        finally:
            connection.close()

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(one, range(CONCURRENCY)))


def test_concurrent_cold_requests_run_the_view_once(real_redis):
    ours = _burst("/slow/")
    _burst("/django/slow/")
    print(
        f"\n{CONCURRENCY} concurrent cold requests: view ran {CALLS['slow']}x with smartcache, "
        f"{CALLS['django_slow']}x with Django's cache_page"
    )
    assert [r.status_code for r in ours] == [200] * CONCURRENCY
    assert CALLS["slow"] == 1, Counter(status(r) for r in ours)
    assert sorted(status(r) for r in ours) == ["HIT"] * (CONCURRENCY - 1) + ["MISS"]


@override_settings(SMARTCACHE={"LOCK_TIMEOUT": 0.3, "LOCK_WAIT": 5})
def test_waiters_take_over_when_the_lock_holder_died(real_redis):
    client = Client()
    client.get("/plain/")  # learn the entry key from what the store wrote
    redis = get_redis_connection("default")
    (entry,) = redis.scan_iter(match="*sc:e:page:*")
    redis.delete(entry)
    lock = entry.decode().replace(":sc:e:", ":sc:l:")
    redis.set(lock, "a process that died", px=300)  # a winner that will never store
    response = client.get("/plain/")
    assert (response.status_code, status(response)) == (200, "MISS")
    assert CALLS["plain"] == 2
    assert redis.get(lock) is None, "the taker released the lock it took"


@override_settings(SMARTCACHE={"LOCK_WAIT": 0})
def test_without_waiting_a_loser_computes_itself(real_redis):
    client = Client()
    client.get("/plain/")
    redis = get_redis_connection("default")
    (entry,) = redis.scan_iter(match="*sc:e:page:*")
    redis.delete(entry)
    redis.set(entry.decode().replace(":sc:e:", ":sc:l:"), "busy", px=10_000)
    response = client.get("/plain/")
    assert (response.status_code, status(response)) == (200, "MISS")
    assert status(client.get("/plain/")) == "HIT", "its result was stored all the same"
