"""A worker killed while its leased statement waits on the server (a lock, a slow plan).

The lease argument is "a write relies on a renewal sent less than ``VALID`` before its
statement *returned*, and a reclaim comes ``STALE`` after that renewal". A client that
dies mid-statement never sees it return: the statement goes on on the server (neither
MariaDB nor PostgreSQL notices a dead client while it waits on a lock), and commits
whenever the lock is released, possibly long after the lease was reclaimed and its
global bump made. So a reclaim that sees a write statement still running keeps the row
and bumps again at each flush until none runs (``lease_reclaim``). On the outbox path
the statement runs inside ``BEGIN`` with its row, so a dead client's statement is rolled
back instead.
"""

from __future__ import annotations

import os
import time

import pytest
from django.db import connections

from django_smartcache.invalidation import leases, recovery
from django_smartcache.models import WriterLease
from tests.helpers import flushes_over_stale, status
from tests.test_outbox import warm
from tests.testapp.models import Product

from .common import child, leased, mysql_only, server_only  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


def _lock_laptop(pk):
    """Another client's transaction holding the laptop's row lock: (connection, release)."""
    holder = connections.create_connection("default")
    holder.ensure_connection()
    raw = holder.connection
    cursor = raw.cursor()
    cursor.execute("BEGIN")
    cursor.execute("SELECT id FROM testapp_product WHERE id = %s FOR UPDATE", [pk])
    cursor.fetchall()

    def release():
        cursor.execute("COMMIT")
        cursor.close()
        holder.close()

    return release


@server_only
def test_a_statement_orphaned_by_a_killed_worker_is_not_lost(client, leased):  # noqa: F811
    """The reclaim sees a write statement still running on the server: the dead lease
    lingers, every flush bumps again, and the first flush after that statement has
    committed makes its write visible (then the row goes)."""
    laptop = leased["laptop"]
    release = _lock_laptop(laptop.pk)
    writer = child("orphan_writer", {"price": "7"})
    theirs = WriterLease.objects.exclude(pid=os.getpid())
    try:
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()[-2000:]
        warm(client)
        writer.stdin.write("go\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "writing"
        time.sleep(0.5)  # its UPDATE is now waiting on the lock, on the server
        writer.kill()  # SIGKILL: a worker timeout
        writer.wait(10)
        flushes_over_stale()  # the dead lease is seen, then reclaimed
        assert status(client.get("/catalog/")) == "MISS", "reclaimed: every entry stale"
        assert leases.counters()["reclaimed"] == 1
        assert theirs.exists(), "an orphaned write still runs: the lease lingers"
        recovery.flush()  # bumps again while it lingers
        assert status(client.get("/catalog/")) == "MISS"
    finally:
        release()  # the orphaned UPDATE gets its lock now, and commits
        writer.kill()
    deadline = time.monotonic() + 5
    while Product.objects.get(pk=laptop.pk).price != 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert str(Product.objects.get(pk=laptop.pk).price) == "7.00", "the dead worker's write"
    recovery.flush()  # the next flush: nothing runs any more, a last bump, the row goes
    assert not theirs.exists()
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=7.00, Phone=499.00")
    assert status(client.get("/catalog/")) == "HIT"


@server_only
@mysql_only
def test_a_statement_abandoned_by_a_read_timeout_is_not_lost(client, leased):  # noqa: F811
    """The client gives up (``read_timeout``) while the server still runs the statement: if
    it committed after the writer's bump (on the error), nothing would bump that commit,
    and the process is alive, so no reclaim either. It is stopped before the bump."""
    laptop = leased["laptop"]
    impatient = connections.create_connection("default")
    impatient.settings_dict = {
        **impatient.settings_dict,
        "OPTIONS": {**impatient.settings_dict.get("OPTIONS", {}), "read_timeout": 1},
    }
    release = _lock_laptop(laptop.pk)
    try:
        warm(client)
        lost = pytest.raises(Exception, match="(?i)lost connection|timed out|gone away")
        with lost, impatient.cursor() as cursor:  # watched: the lease path, then the error
            cursor.execute("UPDATE testapp_product SET price = 7 WHERE id = %s", [laptop.pk])
        warm(client)  # a reader caches the old data after the writer's bump on the error
    finally:
        release()  # the abandoned UPDATE gets its lock now, and commits
        impatient.close()
    time.sleep(1.0)  # the abandoned UPDATE, if still there, has committed by now
    price = Product.objects.get(pk=laptop.pk).price  # (7 if it ran, 999 if it was stopped)
    response = client.get("/catalog/")
    assert response.content == f"Laptop={price}, Phone=499.00".encode(), "as in the database"
