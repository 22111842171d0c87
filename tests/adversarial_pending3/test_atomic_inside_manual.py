"""Adversarial pass 3: a write inside ``atomic()`` nested in a manual transaction.

Interleaving (one process):

1. /catalog/ cached at Laptop=999.00.
2. Main thread T: ``set_autocommit(False)``; ``with atomic(): laptop.save()`` (a savepoint:
   ``in_atomic_block`` is true, so ``bump_on_commit`` registers an on_commit batch instead
   of holding). The atomic block exits (savepoint released; Django's hooks stay queued until
   ``set_autocommit(True)``).
3. T: ``commit()`` returns (as with ``"AUTOCOMMIT": False``, autocommit is never turned on).
4. Thread B (same process) reads /catalog/: HIT Laptop=999.00 -- older than a returned commit.
   T's own next read (``settle`` knows nothing: no ``_Held``) is served 999.00 too.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from tests.adversarial_pending.common import (
    cached_catalog,
    in_thread,
    manual_transaction,
    save_price,
)
from tests.helpers import status


@pytest.mark.usefixtures("clean_outbox")
@pytest.mark.parametrize("reader", ["other_thread", "own_thread"])
def test_a_write_in_atomic_inside_a_manual_transaction_is_not_held(shop, reader):
    cached_catalog()  # 1.
    with manual_transaction():
        with transaction.atomic():
            save_price("5.00")  # 2.
        during = in_thread(lambda: Client().get("/catalog/"))
        transaction.commit()  # 3.
        if reader == "other_thread":
            after = in_thread(lambda: Client().get("/catalog/"))  # 4.
        else:
            after = Client().get("/catalog/")
        assert b"Laptop=5.00" in after.content, (
            f"after commit() returned: {status(after)} {after.content!r} "
            f"(read while open: {status(during)})"
        )
