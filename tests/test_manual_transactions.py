"""Manual transactions (autocommit off): bumps take effect after the real commit.

Django runs no on_commit callbacks there and signals nothing on ``commit()``. Until the
commit is seen, the written tags are *held*: no entry depending on them is served or
stored; once it is seen (or the transaction rolled back), they are bumped.
A reader in another thread has its own connection, so it sees only committed rows.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client

from django_smartcache import cached
from django_smartcache.core.tags import bump_tags
from django_smartcache.invalidation import sending
from django_smartcache.stores.factory import get_store
from tests.helpers import status
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def laptop():
    category = Category.objects.create(name="C", slug="c")
    return Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)


def read_catalog() -> tuple[str, str]:
    """(body, X-Smartcache) of /catalog/ as another visitor sees it, from another thread."""
    out: list = []

    def run() -> None:
        from django.db import connections

        try:
            response = Client().get("/catalog/")
            out.append((response.content.decode(), status(response)))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert out, "the reader thread failed"
    return out[0]


def _writes(laptop, how: str) -> None:
    if how == "save":
        laptop.price = Decimal("9.00")
        laptop.save()
    else:
        Product.objects.filter(pk=laptop.pk).update(price=Decimal("9.00"))


@pytest.fixture
def manual():
    """Autocommit off for the test body; always back on (and rolled back) afterwards."""
    transaction.set_autocommit(False)
    try:
        yield
    finally:
        if not connection.get_autocommit():
            transaction.rollback()
            transaction.set_autocommit(True)


@pytest.mark.parametrize("how", ["save", "update"])
def test_a_read_before_the_commit_is_never_served_after_it(laptop, manual, how):
    assert read_catalog() == ("Laptop=1.00", "MISS")
    _writes(laptop, how)
    # Uncommitted: other visitors still see the old price, and it is not stored as fresh.
    assert read_catalog()[0] == "Laptop=1.00"
    assert read_catalog() == ("Laptop=1.00", "MISS"), "an entry was stored while held"
    transaction.commit()
    transaction.set_autocommit(True)
    assert read_catalog() == ("Laptop=9.00", "MISS"), "the old page was served after commit"
    assert read_catalog() == ("Laptop=9.00", "HIT")


def test_with_autocommit_off_for_good_the_commit_is_seen_at_the_next_cache_read(laptop, manual):
    """As with ``"AUTOCOMMIT": False``: commit() is called, autocommit never turned back on."""
    read_catalog()
    _writes(laptop, "save")
    read_catalog()
    transaction.commit()
    # Even before this thread notices the commit, nobody is served the old page.
    assert read_catalog() == ("Laptop=9.00", "MISS")
    Client().get("/home/")  # this thread's next cache read notices the commit
    assert read_catalog() == ("Laptop=9.00", "MISS")
    assert read_catalog() == ("Laptop=9.00", "HIT"), "the tags stayed held after the commit"


def test_each_of_several_manual_transactions_is_bumped_after_its_own_commit(laptop, manual):
    for price in ("2.00", "3.00", "4.00"):
        read_catalog()
        laptop.price = Decimal(price)
        laptop.save()
        assert read_catalog()[0] != f"Laptop={price}"  # not committed yet
        transaction.commit()
        Client().get("/home/")
        assert read_catalog()[0] == f"Laptop={price}"
        assert read_catalog() == (f"Laptop={price}", "HIT")


def test_a_rolled_back_manual_transaction_leaves_the_page_cacheable(laptop, manual):
    read_catalog()
    _writes(laptop, "save")
    transaction.rollback()
    transaction.set_autocommit(True)
    Client().get("/home/")  # this thread's next cache read notices the rollback
    assert read_catalog() == ("Laptop=1.00", "MISS")
    assert read_catalog() == ("Laptop=1.00", "HIT"), "the hold outlived the rollback"


def test_the_end_of_a_request_notices_the_commit(laptop, manual):
    from django.core.signals import request_finished

    read_catalog()
    _writes(laptop, "save")
    transaction.commit()
    request_finished.send(sender=None)
    read_catalog()
    assert read_catalog() == ("Laptop=9.00", "HIT")


@pytest.mark.parametrize("alias", ["default", "locmem"])
def test_another_write_keeps_a_hold_and_only_the_holders_bump_ends_it(alias, monkeypatch):
    """A held tag's entries are neither served nor stored; a plain bump (another row,
    another process, an outbox flush) keeps it held; the holding transaction's own bump
    (``release``) ends it. On every store (Lua on Redis and Cluster, Python elsewhere)."""
    monkeypatch.setattr(sending, "_extra_aliases", set(sending._extra_aliases))
    calls = []

    @cached(60, depends_on=["hold-test"], cache=alias)
    def value() -> int:
        calls.append(1)
        return len(calls)

    def computed(times: int = 2) -> int:
        before = len(calls)
        for _ in range(times):
            value()
        return len(calls) - before

    store, tags = get_store(alias), bump_tags(["hold-test"])
    assert computed() == 1  # stored, then served
    store.bump(tags, hold=60)
    assert computed() == 2, "an entry of a held tag was served or stored"
    store.bump(tags)
    assert computed() == 2, "another write's bump ended the hold"
    store.bump(tags, hold=60)  # a later hold (another transaction, written after it)
    store.bump(tags, release=int(time.time() * 1000) + 30_000)  # ends holds ending by then
    assert computed() == 2, "a release ended a hold set after the released one"
    store.bump(tags, release=int(time.time() * 1000) + 90_000)
    assert computed() == 1, "the holder's own bump did not end the hold"
