"""Regression (adversarial pass, issue 13): a landing bump must not erase a failed one.

Before the fix: two writers of the same row: the bump of one lands, the other's fails at the same
time; the landing one's ``left -= todo`` erases the failed one's pending tags. With
``OUTBOX = False`` ("only the in-process retry remains") the failed bump is then lost
for good: nothing retries it, and once the breaker's back-off is over the process serves
the stale entry again (until its TTL).

Interleaving (one process; "another process" only fills an entry):

1. Thread R saves the laptop at 2.00; its bump (tags T) is applied on Redis (token t_R);
   the reply (with WAIT_REPLICAS: the WAIT) is still in flight.
2. Another process fills /catalog/ from the database (Laptop=2.00), stamped t_R.
3. Thread W saves the laptop at 5.00; its bump fails (a connection error): T is added to
   ``_pending``, the breaker opens. W's save() returns.
4. R's bump returns: ``left -= T`` leaves nothing pending (W's bump never reached Redis).
5. Reads bypass while the breaker is open; after the back-off, the probe's check has no
   outbox, ``retry`` finds nothing pending: HIT Laptop=2.00, and for every read after.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client, override_settings
from redis.exceptions import ConnectionError as RedisConnectionError

from django_smartcache.core import breaker
from django_smartcache.invalidation import sending
from django_smartcache.stores.factory import get_store
from tests.adversarial_pending.common import as_other_process, save_price, started
from tests.helpers import status


@pytest.mark.usefixtures("clean_outbox")
def test_a_failed_bump_erased_by_a_concurrent_landing_one_is_lost(shop, monkeypatch):
    with override_settings(SMARTCACHE={"OUTBOX": False}):
        store = get_store("default")
        real = store.bump
        applied, release = threading.Event(), threading.Event()
        writer_r: set[int] = set()  # R's thread
        fail_w = threading.Event()

        def bump(tags, hold=0.0, **options):
            if fail_w.is_set() and threading.current_thread() is threading.main_thread():
                raise RedisConnectionError("connection reset")
            real(tags, hold, **options)
            if threading.get_ident() in writer_r:
                applied.set()
                assert release.wait(10)

        monkeypatch.setattr(store, "bump", bump)

        r = started(lambda: save_price("2.00"), idents=writer_r)
        try:
            assert applied.wait(10)  # 1.
            filled = as_other_process(lambda: Client().get("/catalog/"))  # 2.
            assert filled.content == b"Laptop=2.00, Phone=499.00"
            fail_w.set()
            save_price("5.00")  # 3. returned; its bump failed
            assert sending._pending.get("default"), "W's bump is pending when save() returns"
        finally:
            release.set()
            r.join(10)
        fail_w.clear()
        lost = dict(sending._pending)  # 4.
        guard = breaker.breaker("default")
        assert status(Client().get("/catalog/")) == "BYPASS"  # breaker open
        guard.open_until = time.monotonic() - 0.001  # 5. back-off over
        responses = [Client().get("/catalog/") for _ in range(2)]
        seen = [(status(x), x.content) for x in responses]
    assert all(b"Laptop=5.00" in x.content for x in responses), (
        f"{seen}; pending after R landed: {lost}: W's acknowledged bump was lost"
    )
