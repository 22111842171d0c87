"""Stale-while-revalidate, early recompute (XFetch) and stale-if-error."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client, override_settings
from django_redis import get_redis_connection

from django_smartcache import invalidate
from tests import funcs
from tests.helpers import status
from tests.views import CALLS, FLAKY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _steady():
    FLAKY["mode"] = ""
    yield
    FLAKY["mode"] = ""


def entries(kind: str = "page") -> list[bytes]:
    return list(get_redis_connection("default").scan_iter(match=f"*:sc:e:{kind}:*"))


def age(kind: str = "page") -> None:
    """Make every stored entry aged out (fresh until the epoch) but still in Redis.

    Entries are ``E<fresh until>\\t<compute ms>\\t<stamp>\\0<payload>`` (see scripts.py).
    """
    redis = get_redis_connection("default")
    for key in entries(kind):
        raw = redis.get(key)
        head, nul, payload = raw[1:].partition(b"\0")
        _, duration, stamp = head.split(b"\t", 2)
        redis.set(key, b"E1\t" + duration + b"\t" + stamp + nul + payload, keepttl=True)


def hold_locks(kind: str = "page") -> None:
    """Pretend another process is recomputing every entry."""
    redis = get_redis_connection("default")
    for key in entries(kind):
        redis.set(key.replace(b":sc:e:", b":sc:l:"), "another process", px=10_000)


def test_aged_out_entry_is_recomputed_by_the_lock_holder(client):
    client.get("/flaky/")
    age()
    response = client.get("/flaky/")
    assert (status(response), response.content) == ("MISS", b"flaky run 2")
    assert status(client.get("/flaky/")) == "HIT"


def test_aged_out_entry_is_served_stale_while_another_process_recomputes(client):
    client.get("/flaky/")
    age()
    hold_locks()
    response = client.get("/flaky/")
    assert (response.status_code, status(response)) == (200, "STALE")
    assert response.content == b"flaky run 1"
    assert CALLS["flaky"] == 1


def test_concurrent_requests_for_an_aged_hot_entry_run_the_view_once(real_redis):
    Client().get("/slow/")
    age()
    barrier = threading.Barrier(10)

    def one(_):
        barrier.wait(5)
        try:
            return Client().get("/slow/")
        finally:
            connection.close()

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(one, range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(status(r) for r in responses) == ["MISS"] + ["STALE"] * 9
    assert CALLS["slow"] == 2


def test_invalidated_entry_is_never_served_stale(client, shop):
    client.get("/catalog/")
    invalidate(shop["laptop"])
    hold_locks()
    # Someone else holds the lock; the invalidated copy must not be offered: wait, then compute.
    with override_settings(SMARTCACHE={"LOCK_WAIT": 0}):
        response = client.get("/catalog/")
    assert status(response) == "MISS"
    assert CALLS["catalog"] == 2


def test_invalidated_entry_may_be_served_stale_when_allowed(client, shop):
    client.get("/catalog/")
    invalidate(shop["laptop"])
    hold_locks()
    with override_settings(SMARTCACHE={"STALE_ON_INVALIDATION": True}):
        response = client.get("/catalog/")
    assert status(response) == "STALE"
    assert CALLS["catalog"] == 1


@pytest.mark.parametrize("mode", ["raise", "500"])
def test_stale_if_error_serves_the_aged_copy(client, caplog, mode):
    client.get("/flaky/")
    age()
    FLAKY["mode"] = mode
    with caplog.at_level(logging.ERROR, "django_smartcache"):
        response = client.get("/flaky/")
    assert (response.status_code, status(response), response.content) == (
        200,
        "STALE",
        b"flaky run 1",
    )
    assert any("serving the stale copy" in r.getMessage() for r in caplog.records)
    FLAKY["mode"] = ""
    assert client.get("/flaky/").content == b"flaky run 3", "the next request recomputes"


def test_stale_if_error_can_be_turned_off(client):
    client.get("/flaky/")
    age()
    FLAKY["mode"] = "raise"
    with override_settings(SMARTCACHE={"STALE_IF_ERROR": False}), pytest.raises(RuntimeError):
        client.get("/flaky/")


def test_error_without_a_stale_copy_is_an_error(client):
    FLAKY["mode"] = "raise"
    with pytest.raises(RuntimeError):
        client.get("/flaky/")


def test_early_recompute_refreshes_before_expiry(client):
    client.get("/slow/")
    with override_settings(SMARTCACHE={"XFETCH_BETA": 1e9}):
        response = client.get("/slow/")
    assert status(response) == "MISS", "a huge beta makes every read due early"
    assert CALLS["slow"] == 2


def test_early_recompute_is_off_with_beta_zero(client):
    client.get("/slow/")
    with override_settings(SMARTCACHE={"XFETCH_BETA": 0}):
        assert status(client.get("/slow/")) == "HIT"


def test_others_keep_hitting_while_one_recomputes_early(client):
    client.get("/slow/")
    hold_locks()
    with override_settings(SMARTCACHE={"XFETCH_BETA": 1e9}):
        response = client.get("/slow/")
    assert status(response) == "HIT", "still fresh: not STALE"
    assert CALLS["slow"] == 1


def test_cached_function_serves_stale_while_another_process_recomputes(shop):
    funcs.price_list()
    age("fn")
    hold_locks("fn")
    assert funcs.price_list()[0] == ("Laptop", "999.00")
    assert CALLS["price_list"] == 1
