"""Shared by the adversarial tests of hold ends (pass 4)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from django.db import DatabaseError, transaction

from django_smartcache.core import breaker
from tests.adversarial_pending.common import started


def open_breaker(alias: str) -> None:
    guard = breaker.breaker(alias)
    guard.failures = 1
    guard.open_until = time.monotonic() + 1000


def close_breaker(alias: str) -> None:
    """The cache is back: a probe landed (as in adversarial_pending3)."""
    guard = breaker.breaker(alias)
    guard.open_until = time.monotonic() - 0.001
    guard.allow()
    guard.succeeded()


def other_shop():
    """A laptop in the database "other" (SQLite has one writer per file: a second open
    transaction that writes goes to the other file)."""
    from tests.testapp.models import Category, Product

    category = Category.objects.using("other").create(name="C", slug="c")
    return Product.objects.using("other").create(
        name="Tablet", slug="tablet", price=1, category=category
    )


def save_other(price) -> None:
    """Save the tablet of the database "other" (tags m:testapp.product, its row)."""
    from tests.testapp.models import Product

    tablet = Product.objects.using("other").get(slug="tablet")
    tablet.price = price
    tablet.save(using="other")


@contextmanager
def manual_transaction_on(using: str):
    transaction.set_autocommit(False, using=using)
    try:
        yield
    finally:
        try:
            transaction.set_autocommit(True, using=using)
        except DatabaseError:
            transaction.rollback(using=using)
            transaction.set_autocommit(True, using=using)


class Other:
    """A manual transaction on database ``using`` in a thread of its own: ``write`` runs
    in it, then it waits for ``commit()`` (``transaction.commit()`` then
    ``set_autocommit(True)``, which runs Django's commit hooks: its release)."""

    def __init__(self, write, using: str = "other") -> None:
        self.wrote, self.go, self.done = threading.Event(), threading.Event(), threading.Event()

        def run():
            with manual_transaction_on(using):
                write()
                self.wrote.set()
                assert self.go.wait(10)
                transaction.commit(using=using)
            self.done.set()

        self.thread = started(run)
        assert self.wrote.wait(10)

    def commit(self) -> None:
        self.go.set()
        self.thread.join(10)
        assert self.done.is_set()
