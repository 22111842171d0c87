"""The database clock jumps forward (an NTP step on the server, or a flush answered by
another node of a cluster whose clock is ahead). MariaDB lets a session move its own
clock (``SET timestamp``), which is what the reclaimer sees then.

A lease used to be aged by the database clock: stepped forward, a flush reclaimed a lease
its holder still relied on, and a write committed right after that global bump was then
covered by nothing if its process died before its own bump. A lease is now reclaimed only
by a process that saw its renewal unchanged for ``STALE`` seconds of its own monotonic
clock, so no wall clock can make a live lease look stale.
"""

from __future__ import annotations

import time

import pytest
from django.db import connections

from django_smartcache.invalidation import lease_reclaim, leases
from django_smartcache.invalidation.bumps import bump
from django_smartcache.models import WriterLease
from tests.helpers import status
from tests.test_outbox import warm

from .common import leased, mysql_only, server_only  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


@server_only
@mysql_only
def test_a_reclaim_on_a_clock_ahead_does_not_uncover_a_live_lease(client, leased):  # noqa: F811
    warm(client)
    ahead = connections.create_connection("default")
    try:
        with ahead.cursor() as cursor:
            cursor.execute("SET timestamp = UNIX_TIMESTAMP(NOW(6)) + 10")
        found = [lease_reclaim.reclaim(ahead, bump)]
        time.sleep(leases.STALE + 0.5)  # the holder renews meanwhile
        found.append(lease_reclaim.reclaim(ahead, bump))
    finally:
        ahead.close()
    assert found == [0, 0], "a live lease is never reclaimed, whatever the clock says"
    assert WriterLease.objects.count() == 1
    assert status(client.get("/catalog/")) == "HIT", "no global bump"
    assert leases.valid("default") is not None
