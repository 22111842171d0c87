"""Regression (adversarial pass 2, issue 13).

Before the fix: a re-sent hold that lands after the transaction's bump, but is checked before that
transaction's ``forget_unheld``, stays in Redis for HOLD_TTL (600 s): every process
bypasses (and cannot store) every entry on those tags for ten minutes (performance).

Interleaving (one process):

1. Breaker open; main thread T, in a manual transaction, saves the laptop: not held,
   registered in ``_unheld``. The breaker closes.
2. Request P: ``retry`` -> ``_hold_again`` takes its snapshot; its hold is on the wire.
3. T: ``commit()``; ``set_autocommit(True)`` runs ``_Held.finish``: the plain bump lands.
4. P's hold lands (after T's bump): the tag is held again until now + HOLD_TTL.
5. P checks its key: still there (T has not reached ``forget_unheld``): ``ended`` false,
   no lifting bump. 6. T: ``forget_unheld`` finds nothing.
7. Every later read of /catalog/ (any process): not cached for HOLD_TTL.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import transaction
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from django_smartcache.core import breaker
from django_smartcache.invalidation import bumps, sending
from django_smartcache.stores.factory import get_store
from tests.adversarial_pending.common import manual_transaction, save_price, started
from tests.helpers import status


@pytest.mark.usefixtures("clean_outbox")
@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_re_hold_landing_after_the_commit_bump_stays_for_hold_ttl(shop, monkeypatch, end):
    Client().get("/catalog/")
    store = get_store("default")
    real = store.bump
    committed_bump, p_checked = threading.Event(), threading.Event()
    p_ident: set[int] = set()

    def bump(tags, hold=0.0, release=False, until=0):
        if hold and threading.get_ident() in p_ident:
            assert committed_bump.wait(10)  # 4. P's hold reaches Redis after T's bump
        real(tags, hold, release, until)
        if not hold and threading.current_thread() is threading.main_thread():
            committed_bump.set()

    real_hold_again = sending._hold_again

    def hold_again(alias):
        try:
            real_hold_again(alias)
        finally:
            p_checked.set()  # 5.

    real_forget = bumps.forget_unheld

    def forget(entry):
        assert p_checked.wait(10)  # 6. T's forget_unheld after P's check
        real_forget(entry)

    monkeypatch.setattr(store, "bump", bump)
    monkeypatch.setattr(sending, "_hold_again", hold_again)
    monkeypatch.setattr(bumps, "forget_unheld", forget)
    guard = breaker.breaker("default")
    guard.failed(RedisConnectionError("blip"), "reading")
    with manual_transaction():
        save_price("5.00")  # 1.
        assert sending._unheld
        guard.open_until = time.monotonic() - 0.001
        assert guard.allow()
        guard.succeeded()  # closed (a probe that landed)
        p = started(lambda: sending.retry("default"), idents=p_ident)  # 2.
        if end == "commit":
            transaction.commit()  # 3.
        else:
            transaction.rollback()  # 3'. (settle() sees it: finish() -> bump, forget)
            bumps.settle()
    p.join(10)
    assert not sending._unheld and not sending._pending
    pages = [Client().get("/catalog/") for _ in range(3)]
    price = b"Laptop=5.00" if end == "commit" else b"Laptop=999.00"
    assert all(price in page.content for page in pages)
    assert [status(page) for page in pages][1:] == ["HIT", "HIT"], (
        "a hold re-sent after the transaction's bump stays for HOLD_TTL: "
        f"{[status(page) for page in pages]}"
    )
