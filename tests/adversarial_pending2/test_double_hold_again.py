"""Regression (adversarial pass 2, issue 13).

Before the fix: two requests re-send the same missed hold at once: the second one's "ended" branch
sends a plain bump while the transaction is still open, which lifts the hold.

Interleaving (one process):

1. /catalog/ cached. Breaker of "default" open. Main thread T, in a manual transaction,
   saves the laptop at 5.00: no hold (breaker open), registered in ``_unheld``.
2. The breaker closes (a probe / a write's bump landed).
3. Requests A and B both call ``retry`` -> ``_hold_again``: both snapshot the entry.
4. A's hold lands, A pops the key (ended=False). B's hold lands, B finds the key gone:
   ``ended`` -> ``_bump_alias(tags)`` -- a *plain* bump, which replaces the held token.
   Nothing is held in Redis, nothing in ``_unheld``/``_pending``: the process serves.
5. Thread C reads /catalog/ (MISS: rendered from the committed data, 999.00) and stores.
6. T: ``commit()`` returns (its hooks have not run yet: AUTOCOMMIT off until settle).
7. Thread D reads /catalog/: HIT Laptop=999.00, older than a returned commit().
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
from django_smartcache.stores.factory import get_store
from tests.adversarial_pending.common import in_thread, manual_transaction, save_price, started
from tests.helpers import status


@pytest.mark.usefixtures("clean_outbox")
def test_two_concurrent_re_holds_lift_the_hold_of_an_open_transaction(shop, monkeypatch):
    client = Client()
    client.get("/catalog/")
    assert status(client.get("/catalog/")) == "HIT"
    store = get_store("default")
    real = store.bump
    both = threading.Barrier(2, timeout=10)
    plain_in_threads: list = []

    def bump(tags, hold=0.0, release=False, until=0):
        if threading.current_thread() is not threading.main_thread():
            if hold:
                both.wait()  # 3. both re-holds have taken their snapshot
            else:
                plain_in_threads.append((threading.current_thread().name, list(tags)))
        return real(tags, hold, release, until)

    monkeypatch.setattr(store, "bump", bump)
    guard = breaker.breaker("default")
    guard.failed(RedisConnectionError("blip"), "reading")  # 1.
    with manual_transaction():
        save_price("5.00")
        assert sending._unheld
        guard.open_until = time.monotonic() - 0.001
        assert guard.allow()  # 2. a probe (e.g. another write's bump) that landed
        guard.succeeded()
        assert not guard.recovering
        a = started(lambda: sending.retry("default"))
        b = started(lambda: sending.retry("default"))
        a.join(10)
        b.join(10)  # 4.
        lifted = list(plain_in_threads)
        in_thread(lambda: Client().get("/catalog/"))  # 5.
        transaction.commit()  # 6.
        after = in_thread(lambda: Client().get("/catalog/"))  # 7.
    assert b"Laptop=5.00" in after.content, (
        f"{status(after)} {after.content!r}; plain bumps sent by the re-holds while the "
        f"transaction was open: {lifted}"
    )
