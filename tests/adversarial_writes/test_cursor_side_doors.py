"""Statements run through a Django cursor's other methods, which Django forwards to the
driver's cursor without the execute wrappers: PostgreSQL's ``COPY ... FROM STDIN``
(psycopg's ``cursor.copy()``) and SQLite's ``executescript`` are not seen. The docs
say so, and that ``invalidate()`` after them is the way: these tests hold it to that."""

from __future__ import annotations

import pytest
from django.db import connection

from django_smartcache import invalidate
from tests.adversarial_writes.common import VENDOR, assert_fresh, shop, table, warm  # noqa: F401
from tests.testapp.models import Product

pytestmark = pytest.mark.django_db(transaction=True)


def _copy_from_stdin(shop):  # noqa: F811
    sql = f"COPY {table()} (name, slug, price, category_id) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write_row(("Tablet", "tablet", 3, shop["category"].pk))


def _executescript(shop):  # noqa: F811
    with connection.cursor() as cursor:
        cursor.executescript(f"UPDATE {table()} SET price = 7 WHERE id = {shop['laptop'].pk};")


SIDE_DOORS = {"postgresql": _copy_from_stdin, "sqlite": _executescript}


def test_a_write_through_a_cursor_side_door_is_fresh_after_invalidate(shop):  # noqa: F811
    warm(shop)
    SIDE_DOORS[VENDOR](shop)
    invalidate(Product)  # the documented way after copy() / executescript() / callproc()
    assert_fresh(shop, "a cursor side door followed by invalidate()")


if VENDOR not in SIDE_DOORS:  # MySQL has neither door: nothing to collect
    del test_a_write_through_a_cursor_side_door_is_fresh_after_invalidate
