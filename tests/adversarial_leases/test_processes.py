"""Real processes around a lease: a preloading master that forks after it holds a lease,
and a lease whose renewing connection is killed by the server."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection

from django_smartcache.invalidation import dbwrites, leases
from django_smartcache.models import WriterLease
from tests.helpers import flushes_over_stale, status
from tests.test_outbox import save_price, warm

from .common import child, leased, server_only  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


@server_only
def test_a_worker_forked_from_a_leased_master_does_not_use_its_lease(client, leased):  # noqa: F811
    master = child("fork_writer", {"price": "7"})
    try:
        assert master.stdout.readline().strip() == "ready", master.stderr.read()[-2000:]
        warm(client)
        master.stdin.write("go\n")
        master.stdin.flush()
        report = json.loads(master.stdout.readline())
        assert report["cover"] in ("row", "leased"), report
        parent = json.loads(master.stdout.readline())["parent"]
        flushes_over_stale()  # the dead lease is seen, then reclaimed
        response = client.get("/catalog/")
        assert (status(response), response.content) == ("MISS", b"Laptop=7.00, Phone=499.00")
        assert WriterLease.objects.filter(pid=parent).exists(), "the master's lease lives on"
    finally:
        master.kill()
        master.wait(10)


def _kill_lease_connection() -> None:
    lease = leases._leases["default"]
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute(f"KILL CONNECTION {int(lease.conn.connection.thread_id())}")
        else:
            cursor.execute(
                "SELECT pg_terminate_backend(%s)", [lease.conn.connection.info.backend_pid]
            )


@server_only
def test_a_killed_lease_connection_leaves_writes_covered(client, leased, monkeypatch):  # noqa: F811
    warm(client)
    first = WriterLease.objects.get().pk
    renewed = leases.counters()["renewed"]
    _kill_lease_connection()
    time.sleep(2 * leases.BEAT + 0.2)  # one renewal fails, the next reconnects
    assert leases.counters()["renewed"] > renewed, "renewed again on a new connection"
    assert list(WriterLease.objects.values_list("pk", flat=True)) == [first]
    _kill_lease_connection()  # again, and a write right after; then the process dies
    monkeypatch.setattr(dbwrites, "bump_written", lambda tags, c, row: None)
    save_price(leased["laptop"], "5")
    leases.give_up(keep_rows=True)
    monkeypatch.undo()
    flushes_over_stale()  # the dead lease is seen, then reclaimed
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=5.00, Phone=499.00")
