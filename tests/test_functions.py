"""``cached`` functions: one run per argument set, invalidated by their dependencies."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.http import HttpResponse

from django_smartcache import cache_page, cached
from tests import funcs
from tests.testapp.models import Product
from tests.views import CALLS

pytestmark = pytest.mark.django_db


def test_runs_once_per_argument_set(shop):
    assert funcs.price_list(1) == [("Laptop", "999.00")]
    assert funcs.price_list(1) == [("Laptop", "999.00")]
    assert funcs.price_list(limit=2) == [("Laptop", "999.00"), ("Phone", "499.00")]
    assert funcs.price_list(limit=2) == funcs.price_list(limit=2)
    assert CALLS["price_list"] == 2


def test_runs_again_after_a_committed_change(shop, django_capture_on_commit_callbacks):
    funcs.price_list()
    with django_capture_on_commit_callbacks(execute=True):
        shop["phone"].price = Decimal("1.00")
        shop["phone"].save()
    assert funcs.price_list()[1] == ("Phone", "1.00")
    assert CALLS["price_list"] == 2


def test_row_dependency_found_while_running(shop, django_capture_on_commit_callbacks):
    funcs.product_price("laptop")
    funcs.product_price("phone")
    with django_capture_on_commit_callbacks(execute=True):
        shop["phone"].price = Decimal("2.00")
        shop["phone"].save()
    assert funcs.product_price("laptop") == "999.00"
    assert funcs.product_price("phone") == "2.00"
    assert CALLS["product_price"] == 3


def test_model_instances_are_keyed_by_row_not_by_field_values(shop):
    laptop = shop["laptop"]
    funcs.describe(laptop)
    same_row = Product.objects.get(pk=laptop.pk)
    same_row.name = "renamed in memory only"
    assert funcs.describe(same_row) == "Laptop costs 999.00"
    assert CALLS["describe"] == 1


def test_invalidate_with_arguments_drops_one_result(shop):
    funcs.price_list(1)
    funcs.price_list(2)
    funcs.price_list.invalidate(2)
    funcs.price_list(1)
    funcs.price_list(2)
    assert CALLS["price_list"] == 3


def test_invalidate_without_arguments_drops_all_results(shop):
    funcs.price_list(1)
    funcs.price_list(2)
    funcs.price_list.invalidate()
    funcs.price_list(1)
    funcs.price_list(2)
    assert CALLS["price_list"] == 4


def test_custom_tag_dependency(shop):
    from django_smartcache import invalidate

    funcs.describe(shop["laptop"])
    invalidate("rates")
    funcs.describe(shop["laptop"])
    assert CALLS["describe"] == 2


def test_custom_key_function(db):
    assert funcs.custom_key("ab") == "AB"
    assert funcs.custom_key("ab", verbose=True) == "AB"
    funcs.custom_key.invalidate("ab")
    funcs.custom_key("ab")
    assert CALLS["custom_key"] == 2


def test_queryset_argument_is_a_clear_type_error(shop):
    with pytest.raises(TypeError, match=r"evaluate it first, e.g. list\(queryset\)"):
        funcs.price_list(Product.objects.all())


def test_queryset_result_is_a_clear_type_error(db):
    with pytest.raises(TypeError, match=r"return list\(queryset\)"):
        funcs.queryset_result()


def test_unpicklable_argument_is_a_clear_type_error(db):
    with pytest.raises(TypeError, match="Cannot build a cache key"):
        funcs.price_list(threading.Lock())


def test_unpicklable_result_is_a_clear_type_error(db):
    with pytest.raises(TypeError, match="cannot be pickled"):
        funcs.unpicklable_result()


def test_async_functions_are_refused_clearly():
    async def fetch():
        return 1

    with pytest.raises(TypeError, match="async"):
        cached(60)(fetch)


def test_methods_are_cached_per_instance(db):
    assert funcs.Rates(2).times(3) == 6
    assert funcs.Rates(2).times(3) == 6
    assert funcs.Rates(5).times(3) == 15
    assert CALLS["times"] == 2


def test_function_dependencies_bubble_up_to_the_cached_page(
    client, shop, rf, django_capture_on_commit_callbacks
):
    @cache_page(60)
    def page(request):
        CALLS["page"] += 1
        return HttpResponse(repr(funcs.product_price("phone")))

    page(rf.get("/bubbling/"))
    assert page(rf.get("/bubbling/"))["X-Smartcache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        shop["phone"].price = Decimal("3.00")
        shop["phone"].save()
    response = page(rf.get("/bubbling/"))
    assert (response["X-Smartcache"], response.content) == ("MISS", b"'3.00'")
    assert CALLS["page"] == 2
