"""Writer leases: an autocommit write on a server database costs its statement and a bump.

A process's lease row, renewed every ``BEAT`` by a thread, covers its autocommit writes
against a crash between the commit and the bump: a flush reclaims a lease left
unrenewed for ``STALE`` seconds and makes every entry stale. SQLite keeps the outbox
path (tests/test_outbox_autocommit.py), so these tests are collected only on a server
database (a skip would count as a failure in CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_smartcache.invalidation import backlog, leases, recovery, sending
from django_smartcache.models import PendingInvalidation, WriterLease
from tests.helpers import flushes_over_stale, status
from tests.test_outbox import CACHE_DOWN, NO_BACKOFF, rows, save_price, warm

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]

_ON_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
FAST = {"BEAT": 0.1, "VALID": 0.25, "STALE": 0.5}  # seconds: the same ratios, sooner


def server_only(test):
    return None if _ON_SQLITE else test


@pytest.fixture
def fast(monkeypatch):
    for name, value in FAST.items():
        monkeypatch.setattr(leases, name, value)


@pytest.fixture
def leased(shop):
    assert leases.wait_until_valid("default"), "the lease thread holds a lease within 5 s"
    backlog.tidy(connection)  # the outbox rows of the shop's writes made before it
    return shop


def test_sqlite_has_no_lease_and_a_server_database_has():
    assert leases.supported(connection) is not _ON_SQLITE


@server_only
def test_a_leased_save_runs_only_its_statement_and_its_bump(client, leased):
    warm(client)
    with CaptureQueriesContext(connection) as queries:
        save_price(leased["laptop"], "5")
    writes = [q["sql"].split()[0] for q in queries.captured_queries]
    assert [verb for verb in writes if verb != "SELECT"] == ["UPDATE"]  # (write-through reads)
    assert rows() == [] and backlog.sizes() == {}, "no outbox row to write or delete"
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=5.00, Phone=499.00")


@server_only
def test_a_crash_right_after_commit_is_made_stale_by_another_process(client, leased):
    """A real second process commits, then dies before its bump (``os._exit``)."""
    config = {"database": connection.settings_dict["NAME"], "price": "7"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.lease_writer", json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()[-2000:]
        warm(client)
        out, err = child.communicate("go\n", timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, err[-2000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"lease_ready": True, "leased": True, "outbox_rows": 0}
    theirs = WriterLease.objects.exclude(pid=os.getpid())
    assert theirs.count() == 1, "the dead process's lease is left behind"
    assert status(client.get("/catalog/")) == "HIT", "nobody bumped: stale until reclaimed"
    flushes_over_stale()  # the dead lease is seen, then reclaimed
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=7.00, Phone=499.00")
    assert not theirs.exists() and leases.counters()["reclaimed"] == 1


@server_only
def test_a_live_lease_is_never_reclaimed(client, fast, leased):
    warm(client)
    deadline = time.monotonic() + 3 * leases.STALE
    while time.monotonic() < deadline:
        recovery.flush()
        time.sleep(leases.BEAT / 2)
    assert leases.counters()["reclaimed"] == 0
    assert status(client.get("/catalog/")) == "HIT"
    assert leases.counters()["renewed"] >= 5


@server_only
def test_a_bump_that_does_not_land_gets_an_outbox_row_at_once(leased):
    with NO_BACKOFF, CACHE_DOWN:
        save_price(leased["laptop"], "5")
    assert rows() == ["m:testapp.product p:testapp.product"], "committed, widened"
    assert "default" in sending._pending, "and retried by this process"


@server_only
def test_a_write_that_outlives_its_lease_gets_an_outbox_row(leased, monkeypatch):
    monkeypatch.setattr(leases, "still_valid", lambda alias, row: False)
    with CaptureQueriesContext(connection) as queries:
        save_price(leased["laptop"], "5")
    verbs = sorted(q["sql"].split()[0] for q in queries.captured_queries)
    verbs = [verb for verb in verbs if verb != "SELECT"]  # (write-through reads)
    # (logged in the order they finished: the row's INSERT inside the statement's wrapper)
    assert verbs == ["INSERT", "UPDATE"], "the statement, then its own row, before the bump"
    backlog.tidy(connection)
    assert rows() == [], "its bump landed: acknowledged, deleted with the backlog"


@server_only
def test_without_renewals_writes_take_the_outbox_and_the_lease_is_reclaimed(
    client, fast, leased, monkeypatch
):
    warm(client)
    monkeypatch.setattr(leases, "_renew", lambda lease: None)  # the thread stalls
    time.sleep(leases.VALID)
    with CaptureQueriesContext(connection) as queries:
        save_price(leased["phone"], "9")
    assert any("pendinginvalidation" in q["sql"] for q in queries.captured_queries)
    assert status(client.get("/catalog/")) == "MISS", "bumped by the writer itself"
    assert status(client.get("/catalog/")) == "HIT"
    recovery.flush()  # seen...
    time.sleep(leases.STALE)
    recovery.flush()  # ... and unchanged STALE seconds later
    assert leases.counters()["reclaimed"] == 1, "nobody renews it: reclaimed"
    assert status(client.get("/catalog/")) == "MISS", "every entry made stale once"
    assert WriterLease.objects.count() == 0


@server_only
def test_a_reclaimed_lease_is_replaced_before_it_is_relied_on_again(fast, leased, monkeypatch):
    first = WriterLease.objects.get().pk
    WriterLease.objects.all().delete()  # reclaimed by another process
    deadline = time.monotonic() + 5
    while leases.counters()["lost"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert leases.counters()["lost"] == 1
    assert leases.wait_until_valid("default")
    assert list(WriterLease.objects.values_list("pk", flat=True)) not in ([], [first])


@server_only
def test_a_clean_exit_deletes_the_lease_and_a_pending_bump_keeps_it(leased):
    assert WriterLease.objects.count() == 1
    sending.keep_pending("default", ["m:testapp.product"])
    sending._exit()
    assert WriterLease.objects.count() == 1, "a bump never landed: left to be reclaimed"
    sending._pending.clear()
    assert leases.wait_until_valid("default")
    sending._exit()
    assert WriterLease.objects.count() == 1, "the first row stays; the new one is deleted"


@server_only
def test_a_lease_inherited_from_a_parent_process_is_not_relied_on(leased, monkeypatch):
    leases._thread[1] = -1  # as after a fork: the state of another process
    assert leases.valid("default") is None, "the child asks for a lease of its own"
    assert leases.wait_until_valid("default")


@server_only
def test_an_idle_lease_is_given_up(fast, leased, monkeypatch):
    monkeypatch.setattr(leases, "IDLE", 0.3)
    deadline = time.monotonic() + 5
    while WriterLease.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not WriterLease.objects.exists()
    assert PendingInvalidation.objects.count() == 0
