"""Adversarial pass 4: holds sent again (``_hold_again``) for a transaction that ends
while they are on their way end a *later* transaction's hold of the same tag. Two causes,
both at work here:

(a) a re-sent hold takes its end before it is sent; landing after a later transaction's
    hold of the tag, it *replaces* that hold with its earlier end (bump.lua: a hold SETs
    its token unconditionally; CacheStore the same), and since its transaction ended,
    ``_hold_again`` lifts it at once (release = its end);
(b) ``_hold_again`` checks ``missed.ending`` only when it takes its batch: the batch's
    later holds of the ended transaction are still sent, each with a fresh end (later
    than the other transaction's hold), then lifted with release = that end.
The transaction whose holds these are had finished (commit seen, bump sent) before the
victim even wrote: not the documented "two open transactions" limit.

Interleaving (one process; each save makes two holds, so A has two missed holds):
1. /catalog/ cached at Laptop=999.00.
2. "default" is being bypassed (breaker open). Thread A (manual transaction on the database
   "other") saves a product there: its holds of m:testapp.product are missed.
3. "default" is back; request R: ``retry`` -> ``_hold_again`` takes A's missed holds: end
   U1 = ``hold_end()``; the script call is on its way (R paused here).
4. A commits and ends (its commit seen; its bump lands).
5. Main thread B (manual transaction) saves the laptop at 5.00: holds m:testapp.product,
   end EB > U1.
6. R's hold lands: held until U1 (B's hold replaced), lifted (release=U1); R's next hold of
   A: end U2 > EB, lifted (release=U2). m:testapp.product is not held; B is open.
7. Another process reads /catalog/: MISS, stores Laptop=999.00 (committed data).
8. B: ``commit()`` returns; another process reads /catalog/: HIT Laptop=999.00.

Suggested fix: a hold never lowers a held end (bump.lua / CacheStore: keep the later of
the current held end and its own); ``_hold_again`` re-checks ``missed.ending`` under the
lock right before each send (skip it: the transaction's own bump covered it), and a lift
releases only the hold it made (by its token), not "every hold ending by then".
"""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.test import Client

from django_smartcache.invalidation import sending
from django_smartcache.stores.factory import get_store
from tests.adversarial_holds.common import (
    Other,
    close_breaker,
    open_breaker,
    other_shop,
    save_other,
)
from tests.adversarial_pending.common import (
    as_other_process,
    cached_catalog,
    in_thread,
    manual_transaction,
    save_price,
    started,
)
from tests.helpers import status

pytestmark = [pytest.mark.not_on_cluster]


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.usefixtures("clean_outbox")
def test_a_late_re_sent_hold_replaces_and_lifts_a_later_hold(shop, monkeypatch):
    other_shop()
    cached_catalog()  # 1.
    store = get_store("default")
    real = store.bump
    r_ident, on_its_way, go_on = [], threading.Event(), threading.Event()

    def bump(tags, hold=0.0, release=0, until=0):
        if hold and threading.get_ident() in r_ident:
            on_its_way.set()
            assert go_on.wait(10)
        return real(tags, hold, release, until)

    monkeypatch.setattr(store, "bump", bump)
    open_breaker("default")
    a = Other(lambda: save_other(2))  # 2.
    assert sending._unheld.get("default")
    close_breaker("default")

    def r():
        r_ident.append(threading.get_ident())
        return sending.retry("default")

    request = started(r)  # 3.
    assert on_its_way.wait(10)
    a.commit()  # 4.
    with manual_transaction():
        save_price("5.00")  # 5.
        go_on.set()
        request.join(10)  # 6.
        filled = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))  # 7.
        transaction.commit()  # 8.
        after = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))
    assert b"Laptop=5.00" in after.content, (
        f"{status(after)} {after.content!r} (filled while B held: {status(filled)})"
    )
