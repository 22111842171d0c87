"""Regression (adversarial pass 2, issue 13).

Before the fix: a plain bump of a tag a manual transaction holds (any other write to the same model:
another row, another process, an outbox flush) replaces the held token (bump.lua: "a
plain bump replaces existing tokens"): the hold ends while the transaction is open.

Interleaving:

1. /catalog/ (depends on Product: tag m:testapp.product) cached at Laptop=999.00.
2. Main thread T: ``set_autocommit(False)``; saves the laptop at 5.00: holds
   m:testapp.product and r:testapp.product:1.
3. Another process changes the *phone* (here: ``invalidate(phone)``; on a server database,
   an autocommit ``save()`` of it): plain bump of m:testapp.product, r:testapp.product:2.
   The hold on m:testapp.product is gone.
4. Thread A reads /catalog/: MISS, renders 999.00 (committed data), stores it.
5. T: ``commit()`` returns. 6. Thread B reads /catalog/: HIT Laptop=999.00.
"""

from __future__ import annotations

import pytest
from django.test import Client

from django_smartcache import invalidate
from tests.adversarial_pending.common import (
    as_other_process,
    cached_catalog,
    fill_commit_and_read,
    in_thread,
    manual_transaction,
    save_price,
)
from tests.helpers import status


@pytest.mark.usefixtures("clean_outbox")
def test_another_rows_bump_lifts_a_manual_transactions_hold(shop):
    from tests.testapp.models import Product

    cached_catalog()  # 1.
    phone = Product.objects.get(slug="phone")
    with manual_transaction():
        save_price("5.00")  # 2.
        held = in_thread(lambda: Client().get("/catalog/"))
        as_other_process(lambda: invalidate(phone))  # 3.
        filled, after = fill_commit_and_read()  # the last three steps
    assert b"Laptop=5.00" in after.content, (
        f"{status(after)} {after.content!r} (while held: {status(held)}; after the other "
        f"row's bump: {status(filled)})"
    )
