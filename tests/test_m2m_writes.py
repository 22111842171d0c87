"""Many-to-many changes invalidate alike, through ``.add()`` or through the through model.

``Product.tags.through.objects.bulk_create(...)`` or ``.filter(...).delete()`` send no
``m2m_changed``; they must reach what ``.add()`` / ``.remove()`` would have.
"""

from __future__ import annotations

import pytest
from django.db import connection

from django_smartcache import cached, depend_on, uncaptured
from tests.testapp.models import Category, Product, Tag

pytestmark = pytest.mark.django_db(transaction=True)

RUNS = {"n": 0}


@cached(timeout=60)
def tags_of(pk: int) -> list[str]:
    """Row-level only: depends on the product's row, not on the Tag model."""
    RUNS["n"] += 1
    with uncaptured():  # declared, not captured (the join would make it model-wide)
        product = Product.objects.get(pk=pk)
        depend_on(product)
        return sorted(t.name for t in product.tags.all())


@pytest.fixture
def data():
    RUNS["n"] = 0
    category = Category.objects.create(name="C", slug="c")
    laptop = Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)
    phone = Product.objects.create(name="Phone", slug="phone", price=2, category=category)
    return laptop, phone, Tag.objects.create(name="new"), Tag.objects.create(name="sale")


def _through_add(product, tag):
    Through = Product.tags.through
    Through.objects.bulk_create([Through(product_id=product.pk, tag_id=tag.pk)])


def _through_remove(product, tag):
    Product.tags.through.objects.filter(product_id=product.pk, tag_id=tag.pk).delete()


def _raw_add(product, tag):
    table = connection.ops.quote_name(Product.tags.through._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (product_id, tag_id) VALUES (%s, %s)", [product.pk, tag.pk]
        )


@pytest.mark.parametrize("add", [_through_add, _raw_add, lambda p, t: p.tags.add(t)])
def test_adding_a_relation_any_way_makes_the_row_stale(data, add):
    laptop, _phone, new, _sale = data
    assert tags_of(laptop.pk) == []
    add(laptop, new)
    assert tags_of(laptop.pk) == ["new"], "the relation was added but the entry stayed"


@pytest.mark.parametrize("remove", [_through_remove, lambda p, t: p.tags.remove(t)])
def test_removing_a_relation_any_way_makes_the_row_stale(data, remove):
    laptop, _phone, new, sale = data
    laptop.tags.add(new, sale)
    assert tags_of(laptop.pk) == ["new", "sale"]
    remove(laptop, sale)
    assert tags_of(laptop.pk) == ["new"], "the relation was removed but the entry stayed"


def test_add_through_the_relation_keeps_other_rows_cached(data):
    """``.add()`` says which rows changed (m2m_changed): only those go stale."""
    laptop, phone, new, _sale = data
    tags_of(laptop.pk), tags_of(phone.pk)
    runs = RUNS["n"]
    laptop.tags.add(new)
    assert tags_of(phone.pk) == []
    assert RUNS["n"] == runs, "an .add() on the laptop purged the phone's entry"
    assert tags_of(laptop.pk) == ["new"]
