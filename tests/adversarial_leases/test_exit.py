"""A clean exit (``atexit`` deletes the lease) while another thread still owes the bump of
a write that relied on that lease: a daemon thread is frozen when the interpreter
finishes, so that bump never lands, and with the row deleted nobody reclaims it."""

from __future__ import annotations

import json
import os

import pytest

from django_smartcache.models import WriterLease
from tests.helpers import flushes_over_stale, status
from tests.test_outbox import warm

from .common import child, leased, server_only  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_outbox")]


@server_only
def test_an_exit_with_a_leased_bump_in_flight_keeps_the_lease(client, leased):  # noqa: F811
    writer = child("exit_writer", {"price": "7"})
    try:
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()[-2000:]
        warm(client)
        out, err = writer.communicate("go\n", timeout=60)
    finally:
        writer.kill()
    assert writer.returncode == 0, err[-2000:]
    assert json.loads(out.strip().splitlines()[-1]) == {"leased": True}
    assert WriterLease.objects.exclude(pid=os.getpid()).count() == 1, "left to be reclaimed"
    flushes_over_stale()  # the dead lease is seen, then reclaimed
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=7.00, Phone=499.00")
