"""Regression (adversarial pass 2, issue 13).

Before the fix: a manual transaction's hold reaches only the aliases known when the write was made:
a cache alias first used after it (a lazily imported ``cached(cache="other")``, a
fragment whose ``using`` is a variable) is neither held nor registered in ``_unheld``.

Interleaving (one process):

1. Main thread T, in a manual transaction, saves the laptop at 5.00: held in "default"
   only (``aliases()`` does not list "other" yet).
2. A module is imported that caches ``laptop_price()`` in "other" (``use_alias``).
3. Thread A calls ``laptop_price()``: MISS, 999.00 (the committed data) stored in "other".
4. T: ``commit()`` returns (its bump waits for set_autocommit(True) / settle).
5. Thread B calls ``laptop_price()``: 999.00 from "other", older than the commit.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from django_smartcache import cached
from django_smartcache.invalidation import sending
from tests.adversarial_pending.common import in_thread, manual_transaction, save_price


@pytest.mark.usefixtures("clean_outbox")
def test_an_alias_first_used_during_a_manual_transaction_is_not_held(shop, monkeypatch):
    from tests.testapp.models import Product

    Client().get("/catalog/")  # the process's first outbox flush, before the transaction
    monkeypatch.setattr(sending, "_extra_aliases", set(sending._extra_aliases) - {"other"})
    with manual_transaction():
        save_price("5.00")  # 1.
        assert "other" not in sending.aliases()

        @cached(60, depends_on=[Product], cache="other")  # 2.
        def laptop_price() -> str:
            return str(Product.objects.get(slug="laptop").price)

        assert in_thread(laptop_price) == "999.00"  # 3. (not committed yet)
        transaction.commit()  # 4.
        after = in_thread(laptop_price)  # 5.
    assert after == "5.00", f"{after}: served from 'other', older than a returned commit()"
