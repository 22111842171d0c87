"""The renewing thread gives up an idle lease (no write for ``IDLE`` seconds) by deleting its
row: a write that starts right then, relies on the lease (still in this process's table
until the thread forgets it) and commits, is covered by a row that is already gone. If
the process then dies before the bump, no reclaim ever comes."""

from __future__ import annotations

import threading
import time

import pytest

from django_smartcache.invalidation import autocommit, dbwrites, leases
from django_smartcache.models import WriterLease
from tests.helpers import flushes_over_stale, status
from tests.test_outbox import save_price, warm

from .common import leased, server_only  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


class _SlowForTheLeaseThread:
    """The module's lock, taken a second late by the renewing thread once ``armed``: the
    window between its decision to give the lease up and its forgetting it, widened."""

    def __init__(self, lock):
        self.lock, self.armed, self.waiting = lock, False, threading.Event()

    def __enter__(self):
        if self.armed and threading.current_thread().name == "smartcache-lease":
            self.waiting.set()
            time.sleep(1.0)
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


@server_only
def test_a_write_racing_the_idle_give_up_stays_covered(client, leased, monkeypatch):  # noqa: F811
    warm(client)
    slow = _SlowForTheLeaseThread(leases._lock)
    monkeypatch.setattr(leases, "_lock", slow)
    slow.armed = True
    monkeypatch.setattr(leases, "IDLE", 0.0)  # the next beat gives the lease up
    assert slow.waiting.wait(5), "the renewing thread is giving the lease up"
    monkeypatch.setattr(leases, "IDLE", 60.0)
    covers = []
    monkeypatch.setattr(dbwrites, "bump_written", lambda tags, c, row: covers.append(row))
    save_price(leased["laptop"], "5")  # ... and the process dies before its bump:
    time.sleep(1.2)
    leases.give_up(keep_rows=True)  # (no renewal from now on, no atexit)
    monkeypatch.undo()
    if covers != [autocommit.LEASED]:
        assert covers and covers[0] is not None, "an outbox row of its own covers it"
    flushes_over_stale()  # the dead lease is seen, then reclaimed
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=5.00, Phone=499.00")
    assert not WriterLease.objects.exists()
