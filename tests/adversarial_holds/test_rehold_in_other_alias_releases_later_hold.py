"""Adversarial pass 4: a hold sent again to a second cache alias (``_hold_again``) gets a
fresh, later end, and ``_Held.release_until`` takes it: the transaction's release then
names an end later than *another* transaction's hold made after its own in the default
cache, and ends that hold there while the other transaction is open.

(``release_until`` is one number for all aliases, but since ``_hold_again`` a
transaction's holds no longer share one end across caches.)

Interleaving (one process; caches "default" (Redis) and "locmem"):
1. /catalog/ cached at Laptop=999.00 in "default".
2. Thread A (manual transaction on the database "other": SQLite allows one open writer per
   file) saves a product there: holds m:testapp.product in "default"
   (end EA); the hold to "locmem" fails (breaker opens): missed.
3. Main thread B (manual transaction) saves the laptop at 5.00: holds m:testapp.product in
   "default" (end EB > EA); "locmem" is skipped (breaker open): missed.
4. "locmem" is back; a request's ``retry("locmem")`` sends both holds again: A's gets
   U1 > EB (``hold_end``), and A.release_until = U1.
5. A commits: its release (U1) reaches B's hold in "default" (EB <= U1): gone, B open.
6. Another process reads /catalog/: MISS, stores Laptop=999.00 (committed data).
7. B: ``commit()`` returns; another process reads /catalog/: HIT Laptop=999.00.

Suggested fix: keep the release end per alias (``_Held.release_until[alias]``), or reuse
the transaction's own end when sending a hold again.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from django_smartcache.invalidation import sending
from django_smartcache.stores.factory import get_store
from tests.adversarial_holds.common import Other, close_breaker, other_shop, save_other
from tests.adversarial_pending.common import (
    as_other_process,
    cached_catalog,
    in_thread,
    manual_transaction,
    save_price,
)
from tests.helpers import status

pytestmark = [pytest.mark.not_on_cluster]


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.usefixtures("clean_outbox")
def test_a_hold_sent_again_to_another_alias_ends_a_later_hold(shop, monkeypatch):
    other_shop()

    monkeypatch.setattr(sending, "_extra_aliases", set(sending._extra_aliases) | {"locmem"})
    cached_catalog()  # 1.
    locmem = get_store("locmem")
    real = locmem.bump
    down = [True]

    def bump(tags, hold=0.0, release=0, until=0):
        if down[0]:
            raise ConnectionError("locmem unreachable")
        return real(tags, hold, release, until)

    monkeypatch.setattr(locmem, "bump", bump)

    a = Other(lambda: save_other(2))  # 2.
    with manual_transaction():
        save_price("5.00")  # 3.
        down[0] = False
        close_breaker("locmem")
        in_thread(lambda: sending.retry("locmem"))  # 4.
        a.commit()  # 5.
        filled = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))  # 6.
        transaction.commit()  # 7.
        after = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))
    assert b"Laptop=5.00" in after.content, (
        f"{status(after)} {after.content!r} (filled while B held: {status(filled)} "
        f"{filled.content!r})"
    )
