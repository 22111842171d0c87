"""Probe that held (pass 4): control for test_rehold_in_other_alias_releases_later_hold.
Two open manual transactions on the same tag, one cache alias, nothing failing: the first
one's release (its own end) leaves the later hold in place; also with the clock stopped
(both ends in the same millisecond: a documented limit, strict xfail) and with the clock going
backwards between the two holds."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.test import Client

from django_smartcache.stores import base
from tests.adversarial_holds.common import Other, other_shop, save_other
from tests.adversarial_pending.common import (
    as_other_process,
    cached_catalog,
    in_thread,
    manual_transaction,
    save_price,
)
from tests.helpers import status

pytestmark = [pytest.mark.not_on_cluster]


_SAME_MS = (
    "known limitation (docs: explanation/invalidation.md): holds in the same millisecond "
    "(or by a clock behind) share an end; the earlier transaction's release ends both"
)


@pytest.mark.parametrize(
    "clock",
    [
        "running",
        pytest.param("stopped", marks=pytest.mark.xfail(strict=True, reason=_SAME_MS)),
        pytest.param("backwards", marks=pytest.mark.xfail(strict=True, reason=_SAME_MS)),
    ],
)
@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.usefixtures("clean_outbox")
def test_an_earlier_transactions_release_leaves_a_later_hold(shop, monkeypatch, clock):
    other_shop()
    cached_catalog()
    now = [time.time()]
    if clock != "running":
        fake = SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if n[0] != "_"})
        fake.time = lambda: now[0]
        monkeypatch.setattr(base, "time", fake)
    a = Other(lambda: save_other(2))
    if clock == "backwards":
        now[0] -= 5.0
    with manual_transaction():
        save_price("5.00")
        a.commit()
        filled = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))
        transaction.commit()
        after = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))
    assert b"Laptop=5.00" in after.content, f"{status(after)} {after.content!r} {status(filled)}"
