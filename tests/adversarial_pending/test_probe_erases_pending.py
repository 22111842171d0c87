"""Regression (adversarial pass, issue 13): a landing bump keeps what others kept meanwhile.

Before the fix: a bump that lands erases, from ``_pending``, tags that another thread added
while it was in flight (``left -= todo`` removes names, not the additions it sent).

Interleaving (one process P; "another process" only fills an entry):

1. An earlier save of the laptop failed to reach Redis: its tags T are pending in P, its
   outbox row exists, P's breaker is open and its back-off has elapsed.
2. Thread R (a request, the breaker's probe) flushes the outbox: ``_bump_alias`` snapshots
   ``todo = pending T | row tags`` and sends the bump; Redis applies it (new token t_R);
   the reply (or the ``WAIT``) is still in flight.
3. Another process (nothing pending there) fills /catalog/ from the database as it is
   now (Laptop=1.00), stamped with t_R. Correct at that time.
4. Thread W saves the laptop at 5.00. Its bump is skipped (the probe holds the breaker):
   its tags (T again) are added to ``_pending`` and its outbox row stays. save() returns.
5. R's bump returns: ``left -= todo`` removes T, i.e. W's pending tags, though W's bump
   was never sent; ``guard.succeeded()`` (R is the probe) closes the breaker.
6. Thread Y in P reads /catalog/ after W's save() returned: nothing pending, breaker
   closed, outbox flush not due for OUTBOX_INTERVAL -> HIT "Laptop=1.00". Stale.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from django_smartcache.core import breaker
from django_smartcache.invalidation import sending
from django_smartcache.models import PendingInvalidation
from django_smartcache.stores.factory import get_store
from tests.adversarial_pending.common import as_other_process, save_price, started
from tests.helpers import status


@pytest.mark.usefixtures("clean_outbox")
def test_a_landing_bump_erases_tags_another_thread_added_meanwhile(shop, monkeypatch):
    store = get_store("default")
    real = store.bump
    fail = threading.Event()
    applied, release = threading.Event(), threading.Event()
    r_thread: set[int] = set()  # R's thread

    def bump(tags, hold=0.0, **options):
        if fail.is_set():
            raise RedisConnectionError("network blip")
        real(tags, hold, **options)
        if threading.get_ident() in r_thread:
            applied.set()  # applied on Redis; R still waits for the reply / WAIT
            assert release.wait(10)

    monkeypatch.setattr(store, "bump", bump)

    # 1. an earlier save whose bump failed: pending, outbox row, breaker open
    fail.set()
    save_price("1.00")
    fail.clear()
    assert sending._pending.get("default"), "the failed bump is pending"
    guard = breaker.breaker("default")
    guard.open_until = time.monotonic() - 0.001  # back-off over: the next call probes

    # 2. R: a request that is the probe; its flush bump is in flight
    r = started(lambda: Client().get("/catalog/"), idents=r_thread)
    try:
        assert applied.wait(10)
        # 3. another process fills the entry now (from the database as it is: 1.00)
        filled = as_other_process(lambda: Client().get("/catalog/"))
        assert filled.content == b"Laptop=1.00, Phone=499.00"
        # 4. W: save() at 5.00 returns (its bump skipped: the probe holds the breaker)
        save_price("5.00")
        assert sending._pending.get("default"), "W's bump is pending when save() returns"
        assert PendingInvalidation.objects.exists(), "W's outbox row is there (flushed later)"
    finally:
        release.set()
        r.join(10)
    # 6. Y: a read that starts after W's save() returned
    response = Client().get("/catalog/")
    assert b"Laptop=5.00" in response.content, (
        f"{status(response)} {response.content!r}: served data older than a returned save(); "
        f"pending now {sending._pending}"
    )
