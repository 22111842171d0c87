"""The lease table is missing (its migration not applied, the outbox's was): no lease is
ever valid, so autocommit writes keep the outbox path, and flushes still work."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from django_smartcache.invalidation import leases, recovery
from django_smartcache.models import WriterLease
from tests.helpers import status
from tests.test_outbox import rows, save_price, warm

from .common import server_only

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


@server_only
def test_without_the_lease_table_writes_keep_the_outbox_path(client, shop, monkeypatch):
    monkeypatch.setattr(WriterLease._meta, "db_table", "smartcache_no_such_table")
    leases.reset()
    assert not leases.wait_until_valid("default", timeout=1.5)
    warm(client)
    covers = []
    from django_smartcache.invalidation import dbwrites

    real = dbwrites.bump_written
    monkeypatch.setattr(
        dbwrites, "bump_written", lambda tags, c, row: covers.append(row) or real(tags, c, row)
    )
    save_price(shop["laptop"], "5")
    assert len(covers) == 1 and covers[0] is not None and covers[0].id is not None, "a row"
    assert status(client.get("/catalog/")) == "MISS"
    time.sleep(0.3)
    recovery.flush()  # the reclaim fails (logged), the flush does not
    assert rows() == []
    assert connection.is_usable()
    leases.reset()
