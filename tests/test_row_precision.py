"""Row-level tags name the row the database changed or loaded, or fall back to the model.

MySQL and MariaDB compare strings case- and trailing-space-insensitively by default:
``filter(pk="LAPTOP")`` changes row ``laptop``. A pk written as ``"07"`` is row 7.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from django_smartcache import get_cached
from tests.testapp.models import Category, Product, Sku

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def laptop():
    category = Category.objects.create(name="C", slug="c")
    return Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)


def test_get_cached_takes_a_pk_in_any_form_and_is_invalidated_for_all(laptop):
    forms = [laptop.pk, str(laptop.pk), f"0{laptop.pk}"]
    assert {get_cached(Product, pk).price for pk in forms} == {Decimal("1.00")}
    laptop.price = Decimal("2.00")
    laptop.save()
    for pk in forms:
        assert get_cached(Product, pk).price == Decimal("2.00"), f"get_cached({pk!r}) was stale"


def test_get_cached_takes_a_model_label(laptop):
    assert get_cached("testapp.Product", laptop.pk) == laptop
    with pytest.raises(TypeError, match="model class or an 'app_label.ModelName'"):
        get_cached("testapp.Nope", laptop.pk)


def _same_row_spellings() -> list[str]:
    """Ways of naming row "sku1" that the database takes for it."""
    if connection.vendor == "mysql":
        return ["sku1", "SKU1", "sku1 "]
    return ["sku1"]


def test_get_cached_of_a_string_pk_is_tagged_by_the_row_it_loaded():
    row = Sku.objects.create(code="sku1", price=1)
    spellings = _same_row_spellings()
    for code in spellings:
        assert get_cached(Sku, code).price == Decimal("1.00")
    row.price = Decimal("3.00")
    row.save()
    for code in spellings:
        assert get_cached(Sku, code).price == Decimal("3.00"), f"get_cached({code!r}) was stale"


@pytest.mark.parametrize("how", ["update", "delete"])
def test_a_write_by_a_string_pk_as_the_database_compares_it_invalidates_the_row(how):
    Sku.objects.create(code="sku1", price=1)
    assert get_cached(Sku, "sku1").price == Decimal("1.00")
    for code in _same_row_spellings()[::-1]:
        Sku.objects.update_or_create(code="sku1", defaults={"price": 1})
        get_cached(Sku, "sku1")
        rows = Sku.objects.filter(pk=code)
        if how == "update":
            assert rows.update(price=Decimal("4.00")) == 1
            assert get_cached(Sku, "sku1").price == Decimal("4.00"), f"pk={code!r} left it stale"
        else:
            rows.delete()
            with pytest.raises(Sku.DoesNotExist):
                get_cached(Sku, "sku1")
