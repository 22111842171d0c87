"""Regression (adversarial pass 2, issue 13).

Before the fix: (On SQLite; elsewhere the flush's private connection does not see the row: it must
hold there too.) SQLite: a manual transaction's own thread runs a due outbox flush on its own
connection, sees its own *uncommitted* outbox row, bumps its tags (a plain bump, which
lifts the hold) and deletes the row, all before the commit. ``_flush_rows`` skips only
``in_atomic_block`` ("inside one, it would see its own uncommitted rows"), not a manual
transaction (``get_autocommit()`` false).

Interleaving (one process, SQLite):

1. /catalog/ cached (999.00). Main thread T: ``set_autocommit(False)``; saves the laptop
   at 5.00: held in Redis, outbox row inserted in the transaction.
2. A periodic flush is due (``OUTBOX_INTERVAL`` passed). T reads a cached page:
   ``guarded_lookup`` -> ``check`` -> ``flush`` on T's own connection: the uncommitted row
   is found, its tags bumped (hold lifted), the row deleted inside the transaction.
3. Thread A reads /catalog/: MISS, renders 999.00 (committed data), stores it.
4. T: ``commit()`` returns.
5. Thread B reads /catalog/: HIT 999.00, older than a returned commit().
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from django_smartcache.invalidation import recovery
from tests.adversarial_pending.common import (
    cached_catalog,
    fill_commit_and_read,
    manual_transaction,
    save_price,
)
from tests.helpers import status


@pytest.mark.usefixtures("clean_outbox")
def test_the_writers_own_flush_lifts_its_hold_before_the_commit(shop, monkeypatch):
    cached_catalog()
    with manual_transaction():
        save_price("5.00")  # 1.
        time.sleep(recovery.GRACE + 0.05)  # the row is older than GRACE
        recovery._next_check = time.monotonic() - 1  # 2. a periodic flush is due
        flushes = recovery.outbox.counters().get("flushed", 0)
        Client().get("/home/")  # T reads a cached page
        flushed = recovery.outbox.counters().get("flushed", 0) - flushes
        filled, after = fill_commit_and_read()  # the last three steps
    assert b"Laptop=5.00" in after.content, (
        f"{status(after)} {after.content!r} (filled: {status(filled)}; rows T flushed "
        f"inside its own transaction: {flushed})"
    )
