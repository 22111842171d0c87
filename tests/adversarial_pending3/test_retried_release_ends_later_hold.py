"""Adversarial pass 3: a retried release ends the hold of a transaction that began after
the releasing one had finished.

Documented limit: "when two *open* manual transactions hold the same tag, the first to
finish ends the hold for both". Here the first one had finished (its commit seen, its
bump sent) before the second even wrote; only its release bump failed and waits in
``_pending`` with ``_releasing``. ``_bump_alias`` turns the whole retried bump into a
release, and the retry runs whenever a request finds the cache back.

Interleaving:
1. /catalog/ cached at 999.00 (depends on m:testapp.product).
2. Thread W: manual transaction saves the phone, commits, ``set_autocommit(True)``:
   ``_Held.finish`` -> release bump of m:testapp.product, r:...:2 fails (a blip): pending,
   releasing. (The breaker closes again: a probe landed elsewhere.)
3. Main thread T: manual transaction saves the laptop: holds m:testapp.product, r:...:1.
4. A request of this process: ``retry`` -> release bump of m:testapp.product: T's hold
   is gone while T is open.
5. Another process reads /catalog/: MISS, stores 999.00 (committed data).
6. T: ``commit()`` returns; another process reads /catalog/: HIT 999.00.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from django_smartcache.core import breaker
from django_smartcache.invalidation import sending
from django_smartcache.stores import base
from django_smartcache.stores.factory import get_store
from tests.adversarial_pending.common import (
    as_other_process,
    cached_catalog,
    in_thread,
    manual_transaction,
    save_price,
)
from tests.helpers import status


@pytest.mark.parametrize(
    "clock",
    [
        "running",
        pytest.param(
            "stopped",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known limitation (docs: explanation/invalidation.md): two holds in "
                "the same millisecond share an end",
            ),
        ),
    ],
)
@pytest.mark.usefixtures("clean_outbox")
def test_a_retried_release_ends_a_later_transactions_hold(shop, monkeypatch, clock):
    from tests.testapp.models import Product

    if clock == "stopped":  # both holds in the same millisecond
        now = time.time()
        stopped = SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if n[0] != "_"})
        stopped.time = lambda: now  # what hold ends are made from (stores.base.hold_end)
        monkeypatch.setattr(base, "time", stopped)
    cached_catalog()  # 1.
    store = get_store("default")
    real = store.bump
    failed = []

    def bump(tags, hold=0.0, release=False, until=0):
        if release and not failed:
            failed.append(tags)
            raise RedisConnectionError("blip")
        return real(tags, hold, release, until)

    monkeypatch.setattr(store, "bump", bump)

    def w():
        with manual_transaction():
            phone = Product.objects.get(slug="phone")
            phone.price = 1
            phone.save()
            transaction.commit()
        return True

    assert in_thread(w)  # 2.
    assert failed and sending._releasing.get("default")
    guard = breaker.breaker("default")
    guard.open_until = time.monotonic() - 0.001
    guard.allow()
    guard.succeeded()
    with manual_transaction():
        save_price("5.00")  # 3.
        in_thread(lambda: sending.retry("default"))  # 4.
        filled = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))  # 5.
        transaction.commit()  # 6.
        after = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))
    assert b"Laptop=5.00" in after.content, (
        f"{status(after)} {after.content!r} (filled while T held: {status(filled)})"
    )
