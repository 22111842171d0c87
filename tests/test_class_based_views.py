"""Class-based views under ``cache_page``: stored once rendered, refreshed by commits, never stuck.

Decorated as the docs show: ``method_decorator(cache_page(...), name="dispatch")`` on the class,
or ``cache_page(...)(View.as_view())`` in the URLconf. These views return unrendered
``TemplateResponse``s, which Django renders after the view (and the decorator) returned. This module
is its own URLconf.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.contrib.sitemaps import views as sitemap_views
from django.test import override_settings
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.generic import DetailView, ListView, TemplateView

from django_smartcache import cache_page, depend_on, uncaptured
from tests.helpers import status
from tests.sitemaps import ProductSitemap
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.urls(__name__)

# --------------------------------------------------------------------------- views


@method_decorator(cache_page(60, depends_on=[Product]), name="dispatch")
class PriceBoard(TemplateView):
    template_name = "cbv/price_board.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "products": Product.objects.order_by("pk")}


@method_decorator(cache_page(60, depends_on=[Product]), name="dispatch")
class ProductList(ListView):
    model = Product
    template_name = "cbv/product_list.html"


class ProductDetail(DetailView):
    model = Product
    template_name = "cbv/product_detail.html"

    def get_object(self, queryset=None):
        with uncaptured():  # by slug: captured, model-wide; the row is declared instead
            product = super().get_object(queryset)
        depend_on(product)  # row-level: other products' changes leave the page cached
        return product


FAIL = {"view": False, "render": False}


class FailingView(TemplateView):
    """Raises from the view itself while ``FAIL["view"]`` is set."""

    template_name = "cbv/status.html"

    def get_context_data(self, **kwargs):
        if FAIL["view"]:
            raise RuntimeError("the view failed")
        return {**super().get_context_data(**kwargs), "message": "view ok"}


class Boom:
    @property
    def value(self) -> str:
        if FAIL["render"]:
            raise RuntimeError("the template failed")
        return "render ok"


@method_decorator(cache_page(60), name="dispatch")
class FailingTemplateView(TemplateView):
    """Returns normally, but its template raises while it is rendered (``FAIL["render"]``)."""

    template_name = "cbv/boom.html"
    extra_context = {"boom": Boom()}


urlpatterns = [
    path("board/", PriceBoard.as_view()),
    path("products/", ProductList.as_view()),
    path("products/<slug:slug>/", cache_page(60)(ProductDetail.as_view())),
    path(
        "sitemap.xml",
        cache_page(60, depends_on=[Product])(sitemap_views.sitemap),
        {"sitemaps": {"products": ProductSitemap}},
    ),
    path("failing/view/", cache_page(60)(FailingView.as_view())),
    path("failing/render/", FailingTemplateView.as_view()),
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _views_work():
    yield
    FAIL.update(view=False, render=False)


@pytest.fixture
def products(transactional_db):
    """Laptop and phone, committed (so that changes invalidate on commit, as in production)."""
    category = Category.objects.create(name="Computers", slug="computers")
    laptop = Product.objects.create(
        name="Laptop", slug="laptop", price=Decimal("999.00"), category=category
    )
    phone = Product.objects.create(
        name="Phone", slug="phone", price=Decimal("499.00"), category=category
    )
    return {"category": category, "laptop": laptop, "phone": phone}


def _reprice(products, slug: str, price: str) -> None:
    product = products[slug]
    product.price = Decimal(price)
    product.save()


def _add_tablet(products) -> None:
    Product.objects.create(
        name="Tablet", slug="tablet", price=Decimal("300.00"), category=products["category"]
    )


def _rename_laptop(products) -> None:
    products["laptop"].slug = "notebook"
    products["laptop"].save()


# --------------------------------------------------------------------------- caching


@pytest.mark.parametrize(
    ("url", "before", "change", "after"),
    [
        pytest.param(
            "/board/",
            ["Laptop=999.00", "Phone=499.00"],
            lambda products: _reprice(products, "phone", "449.00"),
            ["Laptop=999.00", "Phone=449.00"],
            id="TemplateView",
        ),
        pytest.param(
            "/products/",
            ["Laptop=999.00", "Phone=499.00"],
            _add_tablet,
            ["Laptop=999.00", "Phone=499.00", "Tablet=300.00"],
            id="ListView",
        ),
        pytest.param(
            "/products/laptop/",
            ["Laptop=999.00"],
            lambda products: _reprice(products, "laptop", "899.00"),
            ["Laptop=899.00"],
            id="DetailView",
        ),
        pytest.param(
            "/sitemap.xml",
            ["<loc>http://testserver/products/laptop/</loc>"],
            _rename_laptop,
            ["<loc>http://testserver/products/notebook/</loc>"],
            id="sitemap",
        ),
    ],
)
def test_class_based_view_is_stored_once_rendered_and_refreshed_by_a_committed_change(
    client, products, url, before, change, after
):
    first = client.get(url)
    second = client.get(url)
    assert first.status_code == 200, f"{url} answered {first.status_code}"
    assert status(first) == "MISS", f"the first request for {url} was {status(first)}, not MISS"
    for text in before:
        assert text in first.content.decode(), f"{url} does not show {text}: {first.content!r}"
    assert status(second) == "HIT", (
        f"the second request for {url} was {status(second)}: the rendered TemplateResponse "
        "was not stored"
    )
    assert second.content == first.content, f"the cached {url} differs from the rendered one"
    assert second["Content-Type"] == first["Content-Type"]

    change(products)  # autocommit: committed, so the invalidation is sent at once
    refreshed = client.get(url)
    again = client.get(url)
    assert status(refreshed) == "MISS", (
        f"after a committed change to a product, {url} was still served as {status(refreshed)}"
    )
    html = refreshed.content.decode()
    for text in after:
        assert text in html, f"after the change {url} does not show {text}: {html!r}"
    old = [text for text in before if text not in after and text in html]
    assert not old, f"after the change {url} still shows the old {old}: {html!r}"
    assert (status(again), again.content) == ("HIT", refreshed.content), (
        f"the refreshed {url} was not stored again: {status(again)}"
    )


def test_detail_view_stays_cached_when_another_product_changes(client, products):
    client.get("/products/laptop/")
    _reprice(products, "phone", "1.00")
    response = client.get("/products/laptop/")
    assert (status(response), response.content.decode()) == ("HIT", "<h1>Laptop=999.00</h1>\n"), (
        "the laptop's page depends on the laptop's row only; a change to the phone recomputed it"
    )


# --------------------------------------------------------------------------- failures

LOCK_WAIT = 6.0  # how long a request would wait for a fill lock that nobody releases


@pytest.mark.django_db
@override_settings(SMARTCACHE={"LOCK_WAIT": LOCK_WAIT, "LOCK_TIMEOUT": 30.0})
@pytest.mark.parametrize(
    ("flag", "url", "text"),
    [
        pytest.param("view", "/failing/view/", "view ok", id="view-raises"),
        pytest.param("render", "/failing/render/", "render ok", id="template-raises-in-render"),
    ],
)
def test_a_failed_fill_releases_the_lock_so_the_next_request_runs_at_once(client, flag, url, text):
    FAIL[flag] = True
    with pytest.raises(RuntimeError):
        client.get(url)
    FAIL[flag] = False

    started = time.monotonic()
    response = client.get(url)
    elapsed = time.monotonic() - started
    assert elapsed < LOCK_WAIT / 3, (
        f"the request after the failure took {elapsed:.1f}s: it waited on the fill lock the "
        f"failed request left behind (LOCK_WAIT is {LOCK_WAIT}s)"
    )
    assert response.status_code == 200 and text in response.content.decode()
    assert status(response) == "MISS", (
        f"the request after the failure was {status(response)}, not MISS: the view should run "
        "again and its page be stored"
    )
    assert status(client.get(url)) == "HIT", f"{url} was not stored once the view worked again"
