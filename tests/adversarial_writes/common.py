"""Shared pieces of the adversarial write-path tests.

Every attack warms a model-level entry (``prices()``, ``depends_on=[Product]``) and a
row-level one (``get_cached(Product, pk)``), writes, and then asserts that both give
what the database holds now. A failure is a stale entry served after a commit.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from django_smartcache import cached, get_cached
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db(transaction=True)


@cached(60, depends_on=[Product])
def prices() -> dict[str, str]:
    return {p.slug: str(p.price) for p in Product.objects.order_by("pk")}


def db_prices() -> dict[str, str]:
    return {p.slug: str(p.price) for p in Product.objects.order_by("pk")}


def row_price(pk) -> Decimal | None:
    try:
        return get_cached(Product, pk).price
    except Product.DoesNotExist:
        return None


def db_row_price(pk) -> Decimal | None:
    row = Product.objects.filter(pk=pk).first()
    return None if row is None else row.price


@pytest.fixture
def shop():
    category = Category.objects.create(name="C", slug="c")
    laptop = Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)
    phone = Product.objects.create(name="Phone", slug="phone", price=2, category=category)
    return {"category": category, "laptop": laptop, "phone": phone}


def warm(shop) -> None:
    for _ in range(2):
        prices()
        for key in ("laptop", "phone"):
            row_price(shop[key].pk)


def assert_fresh(shop, label: str = "") -> None:
    """Both kinds of entry show what the database holds now."""
    for key in ("laptop", "phone"):
        pk = shop[key].pk
        assert row_price(pk) == db_row_price(pk), f"{label}: row entry of {key} stale"
    assert prices() == db_prices(), f"{label}: model entry stale"


def run(sql: str, params=(), many: bool = False, using=None) -> None:
    from django.db import connections

    conn = connections[using] if using else connection
    with conn.cursor() as cursor:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)


def vendor() -> str:
    return connection.vendor


def table() -> str:
    return connection.ops.quote_name(Product._meta.db_table)


# The database the suite runs on, known at collection time: vendor-specific attacks are
# collected only there (a skip would count as a failure in CI).
_ENGINE = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
VENDOR = {"sqlite3": "sqlite"}.get(_ENGINE, _ENGINE)


def on(vendors) -> bool:
    """Whether an attack written for ``vendors`` (``None``: any) runs on this database."""
    return vendors is None or VENDOR in vendors
