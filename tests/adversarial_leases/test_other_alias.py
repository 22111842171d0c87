"""A leased autocommit write through ``DATABASES["other"]`` whose process dies before the
bump: its lease lives in that database, so a flush must reclaim it there."""

from __future__ import annotations

import pytest

from django_smartcache import cached
from django_smartcache.invalidation import dbwrites, leases, recovery
from django_smartcache.models import WriterLease
from tests.helpers import flushes_over_stale
from tests.testapp.models import Category, Product

from .common import server_only

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_outbox"),
]


@cached(60, depends_on=[Product])
def other_prices():
    return [str(p.price) for p in Product.objects.using("other").order_by("pk")]


@server_only
def test_a_crash_after_a_leased_write_through_another_alias_is_reclaimed(monkeypatch):
    category = Category.objects.using("other").create(name="C", slug="c")
    row = Product.objects.using("other").create(name="L", slug="l", price=1, category=category)
    assert leases.wait_until_valid("other")
    assert other_prices() == other_prices() == ["1.00"]
    covers = []
    monkeypatch.setattr(dbwrites, "bump_written", lambda tags, c, r: covers.append(r))
    Product.objects.using("other").filter(pk=row.pk).update(price=7)
    leases.give_up(keep_rows=True)  # the process dies: no bump, no atexit
    monkeypatch.undo()
    assert len(covers) == 1
    assert WriterLease.objects.using("other").exists() or covers[0] is not None
    flushes_over_stale()  # the dead lease is seen, then reclaimed
    recovery.flush()
    assert other_prices() == ["7.00"]
    assert not WriterLease.objects.using("other").exists()
