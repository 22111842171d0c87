"""Regression (adversarial pass, issue 13): a manual transaction's hold that missed Redis.

Before the fix: a manual transaction's write, made while the breaker is open, is neither held nor
pending: ``hold_until_commit`` skips the cache ("this process bypasses that cache; the
outbox bumps it after commit"). But the breaker can close before the commit: a probe
that flushes the outbox then (the row is not committed yet: invisible) and succeeds
closes it, and nothing in the process remembers the held tags.

Interleaving (one process):

1. /catalog/ is cached (Laptop=999.00). The breaker of "default" is open (a blip).
2. Thread T, in a manual transaction (``set_autocommit(False)``), saves the laptop at
   5.00: ``hold_until_commit`` sees ``allow()`` false and skips the hold; nothing pending.
3. The back-off ends; thread R's request is the probe: its flush finds no committed row,
   nothing is pending, the lookup succeeds: the breaker closes.
4. T: ``transaction.commit()`` returns (T does not touch the cache again yet; with
   ``AUTOCOMMIT: False`` that lasts until its next tracked write or cache read).
5. Thread Y reads /catalog/: breaker closed, nothing pending, no flush due -> HIT 999.00.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import transaction
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from django_smartcache.core import breaker
from django_smartcache.invalidation import sending
from tests.adversarial_pending.common import (
    as_other_process,
    in_thread,
    manual_transaction,
    save_price,
)
from tests.helpers import status


@pytest.mark.usefixtures("clean_outbox")
def test_a_commit_after_the_breaker_closed_leaves_no_trace_in_the_process(shop):
    client = Client()
    client.get("/catalog/")
    assert status(client.get("/catalog/")) == "HIT"
    guard = breaker.breaker("default")
    guard.failed(RedisConnectionError("blip"), "reading")  # 1. open

    with manual_transaction():
        save_price("5.00")  # 2. no hold (breaker open), nothing pending
        assert not sending._pending

        _probe_commit_and_read(guard)  # 3. to 5.


def _probe_commit_and_read(guard) -> None:
    """The back-off ends and another thread probes (it closes the breaker); this thread
    commits; a third thread reads after the commit returned: never older than it."""
    guard.open_until = time.monotonic() - 0.001
    probe = in_thread(lambda: Client().get("/catalog/"))
    assert guard.snapshot()["open"] is False, (status(probe), guard.snapshot())
    transaction.commit()
    response = in_thread(lambda: Client().get("/catalog/"))
    stale = (status(response), response.content)
    assert b"Laptop=5.00" in stale[1], f"{stale}: served data older than a returned commit()"


@pytest.mark.usefixtures("clean_outbox")
def test_a_failed_hold_leaves_no_trace_once_a_probe_closed_the_breaker(shop, monkeypatch):
    """Same, from a closed breaker: the hold itself fails (one blip), which opens the
    breaker but records nothing pending; a probe before the commit closes it again."""
    from django_smartcache.stores.factory import get_store

    client = Client()
    client.get("/catalog/")
    assert status(client.get("/catalog/")) == "HIT"
    store = get_store("default")
    real = store.bump

    blips = [RedisConnectionError("blip during the hold")]  # one

    def bump(tags, hold=0.0, release=False, until=0):
        if hold and blips:
            raise blips.pop()
        return real(tags, hold, release, until)

    monkeypatch.setattr(store, "bump", bump)
    guard = breaker.breaker("default")
    with manual_transaction():
        save_price("5.00")  # the hold fails: breaker open, nothing pending
        assert guard.snapshot()["open"] and not sending._pending
        _probe_commit_and_read(guard)


@pytest.mark.usefixtures("clean_outbox")
def test_a_hold_that_missed_the_cache_is_sent_again_for_every_process(shop):
    """The probe that finds the cache back sends the hold: another process (which never
    saw the breaker open) serves nothing older than the commit either."""
    client = Client()
    client.get("/catalog/")
    guard = breaker.breaker("default")
    guard.failed(RedisConnectionError("blip"), "reading")
    with manual_transaction():
        save_price("5.00")  # not held: the breaker is open
        assert sending._unheld, "the write that missed its hold is remembered"
        guard.open_until = time.monotonic() - 0.001
        # The first request that finds the cache back holds it now (the probe; if its
        # recovery flush could not finish, the next request).
        probes = [status(in_thread(lambda: Client().get("/catalog/")))]
        while sending._unheld and len(probes) < 3:
            time.sleep(guard.snapshot()["retry_in"] + 0.01)
            probes.append(status(in_thread(lambda: Client().get("/catalog/"))))
        assert not sending._unheld, (probes, guard.snapshot())
        transaction.commit()
        other = as_other_process(lambda: Client().get("/catalog/"))
    assert b"Laptop=5.00" in other.content, (status(other), other.content)


@pytest.mark.usefixtures("clean_outbox")
def test_a_hold_sent_again_after_the_commit_is_lifted_at_once(shop, monkeypatch):
    """The hold sent again may arrive after the transaction's own bump: one more bump
    lifts it, so the page is cached again at once (not after HOLD_TTL)."""
    from django_smartcache.stores.factory import get_store

    Client().get("/catalog/")
    store = get_store("default")
    real = store.bump
    in_flight, go_on = threading.Event(), threading.Event()

    def bump(tags, hold=0.0, release=False, until=0):
        if hold and threading.current_thread() is not threading.main_thread():
            in_flight.set()  # the re-sent hold, before it reaches Redis
            assert go_on.wait(10)
        return real(tags, hold, release, until)

    monkeypatch.setattr(store, "bump", bump)
    guard = breaker.breaker("default")
    guard.failed(RedisConnectionError("blip"), "reading")
    with manual_transaction():
        save_price("5.00")
        guard.open_until = time.monotonic() - 0.001
        probe = threading.Thread(target=lambda: in_thread(lambda: Client().get("/catalog/")))
        probe.start()
        assert in_flight.wait(10)
        transaction.commit()
    go_on.set()
    probe.join(10)
    pages = [Client().get("/catalog/") for _ in range(2)]
    # (The probe itself may have stored the page, after the commit.)
    assert [status(p) for p in pages][1:] == ["HIT"], "the late hold was left in place"
    assert all(b"Laptop=5.00" in p.content for p in pages)
    assert not sending._unheld and not sending._pending


@pytest.mark.usefixtures("clean_outbox")
def test_a_missed_hold_stops_counting_after_hold_ttl(shop, monkeypatch):
    """A transaction that never ends holds the process back no longer than a hold in
    Redis would last (``HOLD_TTL``)."""
    Client().get("/catalog/")
    guard = breaker.breaker("default")
    guard.failed(RedisConnectionError("blip"), "reading")
    monkeypatch.setattr(sending, "HOLD_TTL", 0.2)
    transaction.set_autocommit(False)
    try:
        save_price("5.00")
        guard.open_until = time.monotonic() - 0.001
        time.sleep(0.3)
        first = in_thread(lambda: Client().get("/catalog/"))
        assert not sending._unheld, "an expired missed hold is forgotten"
        second = in_thread(lambda: Client().get("/catalog/"))
    finally:
        transaction.rollback()
        transaction.set_autocommit(True)
    # Forgotten, and no hold sent for it: served as before (the write is not committed).
    assert status(first) == status(second) == "HIT"
