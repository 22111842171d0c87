"""Outages against a real Redis that the tests start, freeze, kill and restart themselves.

Each test that needs it gets its own ``redis-server`` on a free port (no persistence),
stopped by the PID of the process the fixture started. The cache alias ``default`` is
pointed at it with short socket timeouts. The breaker tests at the end need no server.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings

from django_smartcache.core import breaker
from django_smartcache.invalidation import bumps, recovery, sending
from django_smartcache.models import PendingInvalidation
from tests.helpers import status
from tests.redis_servers import SOCKET_TIMEOUT, _free_port, cache_at
from tests.testapp.models import Product

MAX_WAIT = 2.0  # generous bound on any one request during an outage (behaviour, not speed)
CONCURRENCY = 12
URLS = ["/catalog/", "/products/laptop/"]
OLD, NEW = b"999.00", b"5.00"
SHORT_BACKOFF = {"ERROR_BACKOFF": 0.2, "ERROR_BACKOFF_MAX": 0.2}


def burst(urls: list[str], rounds: int = 3) -> tuple[list, float]:
    """``CONCURRENCY`` threads each GET every URL ``rounds`` times; responses, max latency."""
    barrier = threading.Barrier(CONCURRENCY)

    def one(_):
        client, out = Client(), []
        barrier.wait(5)
        try:
            for _ in range(rounds):
                for url in urls:
                    started = time.perf_counter()
                    response = client.get(url)
                    out.append((response, time.perf_counter() - started))
        finally:
            connection.close()
        return out

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = [item for chunk in pool.map(one, range(CONCURRENCY)) for item in chunk]
    return [r for r, _ in results], max(t for _, t in results)


def stale(responses: list) -> int:
    return sum(OLD in r.content for r in responses)


def non_200(responses: list) -> int:
    return sum(r.status_code != 200 for r in responses)


def warm() -> None:
    client = Client()
    for url in URLS:
        client.get(url)
        assert status(client.get(url)) == "HIT", url


def change_price() -> None:
    with transaction.atomic():
        laptop = Product.objects.get(slug="laptop")
        laptop.price = Decimal(NEW.decode())
        laptop.save()


# --------------------------------------------------------------------------- outages


@pytest.mark.not_on_cluster  # a standalone server of its own; see test_cluster.py
@pytest.mark.usefixtures("clean_outbox")
@pytest.mark.parametrize("outage", ["frozen", "killed"])
def test_every_response_is_a_fast_200_while_redis_is_down(redis_server, shop, outage):
    with cache_at(redis_server.url):
        warm()
        if outage == "frozen":
            redis_server.freeze()
        else:
            redis_server.kill()
        try:
            responses, slowest = burst(URLS)
            counts = breaker.counters()["default"]  # (the override's end forgets breakers)
        finally:
            if outage == "frozen":
                redis_server.thaw()
    print(
        f"\nRedis {outage}: {len(responses)} concurrent requests, non-200 responses: "
        f"{non_200(responses)}, slowest {slowest * 1000:.0f} ms "
        f"(socket timeout {SOCKET_TIMEOUT * 1000:.0f} ms)"
    )
    assert non_200(responses) == 0
    assert {status(r) for r in responses} == {"BYPASS"}
    assert slowest < MAX_WAIT, "a request waited on Redis far beyond the socket timeout"
    assert counts["opened"] == 1 and counts["bypassed"] > 0, counts


@pytest.mark.not_on_cluster  # a standalone server of its own; see test_cluster.py
@pytest.mark.usefixtures("clean_outbox")
@pytest.mark.parametrize("reader", ["recovering process", "new process"])
@pytest.mark.parametrize("outage", ["connection cut", "server killed"])
def test_price_changed_during_an_outage_is_never_served_stale_after_it(
    redis_server, shop, outage, reader
):
    """The change is committed while the cache is unreachable; then the cache comes back.

    "connection cut": the alias points at a closed port while the server keeps its data,
    so the old entries really are there when the cache returns. "server killed": the
    server is killed and restarted empty. The reader is this process with its breaker
    still open ("recovering"), or a fresh process; either way its in-process retry is
    cleared, so only the outbox carries the invalidation.
    """
    with override_settings(SMARTCACHE=SHORT_BACKOFF):
        with cache_at(redis_server.url):
            warm()
        down = cache_at(f"redis://127.0.0.1:{_free_port()}/0")
        if outage == "server killed":
            redis_server.kill()
            down = cache_at(redis_server.url)
        with down:
            during, _ = burst(URLS, rounds=1)
            change_price()
            after_change, _ = burst(URLS, rounds=1)
        assert PendingInvalidation.objects.count() == 1, "the failed bump is in the outbox"
        sending._pending.clear()
        if reader == "new process":
            breaker._breakers.clear()
            recovery.reset()
        if outage == "server killed":
            redis_server.start()
        time.sleep(0.25)  # the back-off is over
        with cache_at(redis_server.url):
            recovered, _ = burst(URLS)
    responses = during + after_change + recovered
    print(
        f"\n{outage}, {reader}: non-200 responses: {non_200(responses)}, "
        f"stale reads after recovery: {stale(recovered)} of {len(recovered)}"
    )
    assert non_200(responses) == 0
    assert stale(after_change) == 0 and stale(recovered) == 0
    assert all(NEW in r.content for r in recovered)
    assert PendingInvalidation.objects.count() == 0


@pytest.mark.usefixtures("clean_outbox")
@pytest.mark.not_on_cluster  # a standalone server of its own; see test_cluster.py
def test_a_crash_right_after_commit_loses_no_invalidation(redis_server, shop, monkeypatch):
    """The process dies between its commit and its on_commit bump: only the row is left.

    A process that has not checked the outbox yet flushes it before its first hit; one
    that checked it a moment ago may serve the old entry until ``OUTBOX_INTERVAL`` has
    passed (the documented window), never after.
    """
    interval = 0.5
    with cache_at(redis_server.url), override_settings(SMARTCACHE={"OUTBOX_INTERVAL": interval}):
        warm()
        with monkeypatch.context() as patch:
            patch.setattr(bumps._Batch, "flush", lambda self, index: None)
            change_price()
        assert PendingInvalidation.objects.count() == 1
        recovery.reset()  # a new process: its first cache use flushes
        first, _ = burst(URLS, rounds=2)
        assert PendingInvalidation.objects.count() == 0

        with monkeypatch.context() as patch:
            patch.setattr(bumps._Batch, "flush", lambda self, index: None)
            with transaction.atomic():
                Product.objects.filter(slug="laptop").update(price=7)
        reader = Client()
        window = [reader.get(url) for url in URLS]  # checked a moment ago: may be stale
        time.sleep(interval + 0.1)
        later, _ = burst(URLS, rounds=2)
    print(
        f"\ncrash after commit: stale reads on first use: {stale(first)}; within "
        f"OUTBOX_INTERVAL: {sum(b'5.00' in r.content for r in window)} of {len(window)}; "
        f"after it: {sum(b'5.00' in r.content for r in later)}"
    )
    assert non_200(first + window + later) == 0
    assert stale(first) == 0 and all(NEW in r.content for r in first)
    assert all(b"7.00" in r.content for r in later), "flushed once the interval passed"
    assert PendingInvalidation.objects.count() == 0


# --------------------------------------------------------------------------- the breaker


@pytest.fixture
def clock(monkeypatch):
    """Drive the breaker's clock by hand."""
    now = [1000.0]
    monkeypatch.setattr(breaker, "_clock", lambda: now[0])
    return now


@override_settings(SMARTCACHE={"ERROR_BACKOFF": 1.0, "ERROR_BACKOFF_MAX": 4.0})
def test_breaker_backs_off_with_one_probe_at_a_time(clock, caplog):
    guard = breaker.breaker("test")
    error = ConnectionError("down")
    with caplog.at_level(logging.DEBUG, "django_smartcache"):
        assert guard.allow()
        for _ in range(10):  # ten requests that were all waiting when it broke
            guard.failed(error, "reading")
        assert (guard.failures, guard.errors) == (1, 10), "in-flight failures do not escalate"
        assert not guard.allow()
        clock[0] += 1.0
        assert guard.allow(), "back-off over: one probe"
        assert not guard.allow(), "the others skip the cache while it probes"
        guard.failed(error, "reading")
        assert guard.failures == 2 and not guard.allow()
        clock[0] += 2.0
        assert guard.allow()
        guard.failed(error, "reading")
        clock[0] += 4.0  # capped at ERROR_BACKOFF_MAX
        assert guard.allow()
        guard.succeeded()
        assert guard.allow() and not guard.recovering
    levels = [r.levelname for r in caplog.records]
    assert levels.count("ERROR") == 1 and levels.count("WARNING") == 1, levels
    assert breaker.counters()["test"] == {
        "open": False,
        "retry_in": 0.0,
        "failures": 0,
        "errors": 12,
        "opened": 1,
        "bypassed": 3,
    }


@override_settings(SMARTCACHE={"ERROR_BACKOFF": 1.0, "ERROR_BACKOFF_MAX": 1.0})
def test_breaker_reminds_at_a_bounded_rate_during_a_long_outage(clock, caplog):
    guard = breaker.breaker("test")
    with caplog.at_level(logging.DEBUG, "django_smartcache"):
        guard.allow()
        guard.failed(ConnectionError("down"), "reading")
        for _ in range(300):  # five minutes of one failed probe per second
            clock[0] += 1.0
            assert guard.allow()
            guard.failed(ConnectionError("down"), "reading")
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 5, "one reminder a minute"
    assert "still unreachable" in warnings[0].message


def test_a_probe_that_never_reports_does_not_keep_the_cache_closed(clock):
    guard = breaker.breaker("test")
    guard.allow()
    guard.failed(ConnectionError("down"), "reading")
    clock[0] += 1.0
    assert guard.allow()  # this probe is lost
    assert not guard.allow()
    clock[0] += breaker.PROBE_LEASE
    assert guard.allow(), "after the lease another call probes"
