"""Small helpers shared by the test modules."""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis

from tests.testapp.models import Category, Product
from tests.views import CALLS, PAUSE


def status(response) -> str:
    """The ``X-Smartcache`` header of a response."""
    return response.get("X-Smartcache", "")


@pytest.fixture(autouse=True)
def _fresh_state():
    """Reset view counters, the pause hook and per-process cache state."""
    from django_smartcache.core import breaker, stats
    from django_smartcache.invalidation import leases, recovery, sending

    CALLS.clear()
    PAUSE.__init__()
    breaker._breakers.clear()
    sending._pending.clear()
    sending._unheld.clear()
    sending._releasing.clear()
    stats.reset()  # no hit counters carried over, no flush due during the test
    recovery.reset()  # no outbox check due mid-test from rows an earlier test left
    yield
    PAUSE.enabled = False
    PAUSE.resume.set()
    leases.give_up()  # no lease connection left open (PostgreSQL drops the test database)


@pytest.fixture
def shop(db):
    """Two categories' worth of products: laptop and phone."""
    category = Category.objects.create(name="Computers", slug="computers")
    laptop = Product.objects.create(
        name="Laptop", slug="laptop", price=Decimal("999.00"), category=category
    )
    phone = Product.objects.create(
        name="Phone", slug="phone", price=Decimal("499.00"), category=category
    )
    return {"category": category, "laptop": laptop, "phone": phone}


# A django-redis cache nobody answers for (nothing listens on port 1), failing fast.
DOWN_CACHE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {
        "SOCKET_CONNECT_TIMEOUT": 0.2,
        "SOCKET_TIMEOUT": 0.2,
        "CONNECTION_POOL_KWARGS": {"connection_class": redis.Connection},
    },
}


@pytest.fixture
def clean_outbox(transactional_db):
    """An empty outbox and a process that has not looked at it yet; all breakers closed after.

    (Closing them before the database is flushed lets the bumps of that flush land, so no
    rows are left for the next test.)
    """
    from django_smartcache.core import breaker
    from django_smartcache.invalidation import recovery, sending
    from django_smartcache.models import PendingInvalidation

    PendingInvalidation.objects.all().delete()
    recovery.reset()
    yield
    breaker._breakers.clear()
    sending._pending.clear()
    sending._unheld.clear()
    sending._releasing.clear()
    recovery.reset()


@pytest.fixture
def no_lease(monkeypatch):
    """Autocommit writes take the outbox path, which a server database uses while the
    process holds no valid writer lease (the lease path: tests/test_leases.py)."""
    from django_smartcache.invalidation import leases

    monkeypatch.setattr(leases, "supported", lambda connection: False)


def flushes_over_stale() -> None:
    """Another process's flushes over ``STALE`` seconds: the first sees the leases, the
    last reclaims those whose renewal did not change meanwhile (a new process's first
    flush only sees them)."""
    import time

    from django_smartcache.invalidation import leases, recovery

    recovery.reset()  # another process
    recovery.flush()
    time.sleep(leases.STALE + 0.5)
    recovery.flush()
