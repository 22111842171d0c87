"""Adversarial pass 4: ``hold_end`` keeps a process's ends strictly increasing by handing
out ``last + 1`` when the clock has not moved on: a burst of holds (a bulk loop of saves in
a manual transaction, many threads writing) pushes the process's ends *ahead of its
clock*, and they stay ahead until the clock catches up. A transaction of that process
that holds a tag afterwards gets an end later than the hold another process makes on the
same tag milliseconds *later*, with clocks in perfect agreement, and its release ends that
hold while the other transaction is open.

The documented limit is "the same millisecond (or earlier, by a clock skewed behind)";
here the other process holds 5 ms after, no clock is skewed, and its hold is the later one.

Interleaving (clock of stores.base driven by the test; 1 ms = 1 ms of it):
0. t=0: process P1 runs a manual transaction saving the phone 50 times (one hold each,
   all in the same millisecond: ends 600000 .. 600049), commits.
1. /catalog/ cached at Laptop=999.00.
2. t=5: P1, thread C (manual transaction on the database "other") saves a product: holds
   m:testapp.product, end 600050 (its clock says 600005).
3. t=10: process P2, main thread D (manual transaction) saves the laptop at 5.00: holds
   m:testapp.product, end 600010: the later hold, with the earlier end.
4. C commits: its release (600050) ends D's hold; D open.
5. Another process reads /catalog/: MISS, stores Laptop=999.00 (committed data).
6. D: ``commit()`` returns; another process reads /catalog/: HIT Laptop=999.00.

Suggested fix: make holds unique without moving their ends: a release that names the
hold itself (its random part / a hold id kept per tag), ended only if the tag still
carries one of the releasing transaction's own holds; or sub-millisecond ends plus a
per-process tiebreak that never exceeds the clock by more than the tiebreak.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.test import Client

from django_smartcache.stores import base
from tests.adversarial_holds.common import Other, other_shop, save_other
from tests.adversarial_pending.common import (
    as_other_process,
    cached_catalog,
    in_thread,
    manual_transaction,
    save_price,
)
from tests.helpers import status

pytestmark = [pytest.mark.not_on_cluster]


@pytest.mark.parametrize("clock", ["driven", "running"])
@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.usefixtures("clean_outbox")
def test_a_burst_of_holds_makes_a_later_release_end_another_processes_later_hold(
    shop, monkeypatch, clock
):
    """``running``: the real clock; a loop of 1,000 saves in one manual transaction (on
    this machine about 1.4 saves per ms: the ends end up ~1 s ahead of the clock), then C
    and D hold one after the other as fast as they can."""
    from tests.testapp.models import Product

    other_shop()
    start = time.time()
    now = [start]
    if clock == "driven":
        fake = SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if n[0] != "_"})
        fake.time = lambda: now[0]
        monkeypatch.setattr(base, "time", fake)
    with manual_transaction():  # 0.
        phone = Product.objects.get(slug="phone")
        for i in range(50 if clock == "driven" else 1000):
            phone.price = 400 + i
            phone.save()
        phone.price = "499.00"
        phone.save()
        transaction.commit()
    cached_catalog()  # 1.
    now[0] = start + 0.005
    c = Other(lambda: save_other(2))  # 2.
    now[0] = start + 0.010
    with manual_transaction():
        save_price("5.00")  # 3. (as process P2: ends come from the clock alone)
        c.commit()  # 4.
        filled = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))  # 5.
        transaction.commit()  # 6.
        after = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))
    assert b"Laptop=5.00" in after.content, (
        f"{status(after)} {after.content!r} (filled while D held: {status(filled)})"
    )
