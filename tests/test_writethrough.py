"""Per-row object cache and write-through: the first read after a commit is already a hit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from django_smartcache import get_cached, invalidate
from tests import funcs
from tests.test_errors import DOWN
from tests.testapp.models import Product
from tests.views import CALLS

pytestmark = pytest.mark.django_db

WRITE_THROUGH = override_settings(SMARTCACHE={"WRITE_THROUGH": ["testapp.Product"]})


def save_price(product: Product, price: str, capture) -> None:
    with capture(execute=True):
        product.price = Decimal(price)
        product.save()


def test_get_cached_loads_once(shop, django_assert_num_queries):
    pk = shop["laptop"].pk
    with django_assert_num_queries(1):
        assert get_cached(Product, pk).price == Decimal("999.00")
    with django_assert_num_queries(0):
        assert get_cached(Product, pk).name == "Laptop"


def test_cache_aside_row_is_reloaded_after_a_change(
    shop, django_assert_num_queries, django_capture_on_commit_callbacks
):
    pk = shop["laptop"].pk
    get_cached(Product, pk)
    save_price(shop["laptop"], "5.00", django_capture_on_commit_callbacks)
    with django_assert_num_queries(1):
        assert get_cached(Product, pk).price == Decimal("5.00")


def test_missing_row_raises_does_not_exist(db):
    with pytest.raises(Product.DoesNotExist):
        get_cached(Product, 12345)


@WRITE_THROUGH
def test_write_through_row_is_a_hit_with_the_new_value(
    shop, django_assert_num_queries, django_capture_on_commit_callbacks
):
    pk = shop["laptop"].pk
    get_cached(Product, pk)
    save_price(shop["laptop"], "7.00", django_capture_on_commit_callbacks)
    with django_assert_num_queries(0):
        assert get_cached(Product, pk).price == Decimal("7.00")


@WRITE_THROUGH
def test_write_through_row_is_filled_even_if_never_read(
    shop, django_assert_num_queries, django_capture_on_commit_callbacks
):
    save_price(shop["phone"], "8.00", django_capture_on_commit_callbacks)
    with django_assert_num_queries(0):
        assert get_cached(Product, shop["phone"].pk).price == Decimal("8.00")


@WRITE_THROUGH
def test_deleted_write_through_row_is_gone(shop, django_capture_on_commit_callbacks):
    pk = shop["phone"].pk
    get_cached(Product, pk)
    with django_capture_on_commit_callbacks(execute=True):
        shop["phone"].delete()
    with pytest.raises(Product.DoesNotExist):
        get_cached(Product, pk)


def test_write_through_function_is_recomputed_on_commit(shop, django_capture_on_commit_callbacks):
    assert funcs.cheapest() == "Phone=499.00"
    save_price(shop["laptop"], "9.00", django_capture_on_commit_callbacks)
    runs = CALLS["cheapest"]
    assert runs == 2, "the commit recomputed it once"
    assert funcs.cheapest() == "Laptop=9.00"
    assert CALLS["cheapest"] == runs, "the first read after the commit was a hit"


def test_write_through_ignores_unrelated_tags(shop):
    funcs.cheapest()
    invalidate("rates")
    assert CALLS["cheapest"] == 1


def test_write_through_needs_a_no_argument_function():
    from django_smartcache import cached

    with pytest.raises(TypeError, match="with no arguments"):
        cached(60, write_through=True)(lambda limit: limit)


@WRITE_THROUGH
def test_write_through_failure_keeps_the_save_and_never_serves_stale(
    shop, django_capture_on_commit_callbacks
):
    pk = shop["laptop"].pk
    get_cached(Product, pk)
    no_backoff = override_settings(
        SMARTCACHE={"ERROR_BACKOFF": 0, "WRITE_THROUGH": ["testapp.Product"]}
    )
    with no_backoff, override_settings(CACHES=DOWN):
        save_price(shop["laptop"], "11.00", django_capture_on_commit_callbacks)
    assert Product.objects.get(pk=pk).price == Decimal("11.00")
    with no_backoff:
        assert get_cached(Product, pk).price == Decimal("11.00")
