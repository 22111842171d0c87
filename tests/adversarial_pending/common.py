"""Shared by the adversarial tests of pending bumps."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from decimal import Decimal

from django.db import DatabaseError, connection, transaction

from django_smartcache.core import breaker
from django_smartcache.invalidation import recovery, sending


def as_other_process(fn):
    """Run ``fn`` with the per-process state of another process that saw no failure
    (nothing pending, breakers closed, no outbox flush due): it shares only Redis and the
    database with this one."""
    saved = (sending._pending, dict(breaker._breakers), recovery._next_check)
    sending._pending = {}
    breaker._breakers.clear()
    recovery._next_check = time.monotonic() + 1000
    try:
        return fn()
    finally:
        sending._pending = saved[0]
        breaker._breakers.clear()
        breaker._breakers.update(saved[1])
        recovery._next_check = saved[2]


def save_price(price: str) -> None:
    """Save the laptop at ``price`` (``save()``, through the ORM)."""
    from tests.testapp.models import Product

    laptop = Product.objects.get(slug="laptop")
    laptop.price = Decimal(price)
    laptop.save()


def started(fn, out: dict | None = None, idents: set | None = None) -> threading.Thread:
    """A started thread running ``fn()`` on a connection of its own (result in ``out``;
    its ident added to ``idents`` before ``fn`` runs)."""

    def run():
        if idents is not None:
            idents.add(threading.get_ident())
        try:
            result = fn()
            if out is not None:
                out["v"] = result
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def in_thread(fn):
    """``fn()`` run in a thread of its own (its own database connection); its result."""
    out: dict = {}
    started(fn, out).join(10)
    return out["v"]


@contextmanager
def manual_transaction():
    """``set_autocommit(False)`` for the block; whatever it left open is rolled back after
    (PostgreSQL refuses ``set_autocommit(True)`` inside a transaction, hiding the failure)."""
    transaction.set_autocommit(False)
    try:
        yield
    finally:
        try:
            transaction.set_autocommit(True)  # (Django's commit hooks run here)
        except DatabaseError:  # left inside a transaction: the block failed before commit()
            transaction.rollback()
            transaction.set_autocommit(True)


def fill_commit_and_read():
    """Another thread reads /catalog/ (and may store it); this thread commits; a third
    thread reads after the commit returned. Both responses."""
    from django.test import Client

    filled = in_thread(lambda: Client().get("/catalog/"))
    transaction.commit()
    return filled, in_thread(lambda: Client().get("/catalog/"))


def cached_catalog() -> None:
    """/catalog/ (Laptop=999.00) stored and served from the cache."""
    from django.test import Client

    from tests.helpers import status

    Client().get("/catalog/")
    assert status(Client().get("/catalog/")) == "HIT"
