"""Every demo page over HTTP: served, cached, labelled, and stale exactly when it should be."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from example_project.shop.models import Category, NewsArticle, Product, Review
from tests.helpers import status

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/category/laptops/",
    "/category/laptops/?sort=price&page=2",
    "/products/laptop/",
    "/news/",
    "/news/summer-sale/",
    "/api/products/",
    "/api/products/?category=phones&page=2",
    "/api/products/laptop/",
]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_is_served_then_a_hit(seeded, visitor, url):
    first = visitor.get(url)
    assert first.status_code == 200
    assert status(first) == "MISS"
    second = visitor.get(url)
    assert second.status_code == 200
    assert status(second) == "HIT"
    assert second.content == first.content
    assert int(second["Age"]) >= 0


def test_pages_show_the_seeded_shop(seeded, visitor):
    assert b"Laptop" in visitor.get("/").content  # featured
    assert b"Laptops" in visitor.get("/").content  # sidebar
    listing = visitor.get("/category/laptops/").content.decode()
    rows = re.findall(r'<td><a href="/products/([^/]+)/">', listing)
    assert rows[0] == "laptop"  # featured first
    assert len(rows) == min(24, Product.objects.filter(category__slug="laptops").count())
    assert "$999.00" in listing
    api = json.loads(visitor.get("/api/products/laptop/").content)
    assert api["price"] == "999.00"
    assert api["category"] == "laptops"
    page = json.loads(visitor.get("/api/products/").content)
    assert page["count"] == Product.objects.count()
    assert page["results"][0]["slug"] == "laptop"


def test_unknown_product_is_404_and_not_cached(seeded, visitor):
    assert visitor.get("/products/no-such-thing/").status_code == 404
    assert visitor.get("/api/products/no-such-thing/").status_code == 404
    assert visitor.get("/api/products/no-such-thing/stock/").status_code == 404
    assert visitor.get("/category/no-such-thing/").status_code == 404


def test_listing_key_only_uses_page_and_sort(seeded, visitor):
    assert status(visitor.get("/category/laptops/?sort=price&page=2")) == "MISS"
    assert status(visitor.get("/category/laptops/?page=2&sort=price&utm_source=mail")) == "HIT"
    assert status(visitor.get("/category/laptops/?sort=name&page=2")) == "MISS"
    assert status(visitor.get("/category/laptops/?sort=price&page=1")) == "MISS"


def test_badge_reports_this_response_not_the_cached_html(seeded, visitor):
    miss = visitor.get("/products/laptop/")
    hit = visitor.get("/products/laptop/")
    assert miss["Server-Timing"].startswith('smartcache;desc="MISS";dur=')
    assert hit["Server-Timing"].startswith('smartcache;desc="HIT age=')
    assert hit.content == miss.content  # the same HTML, two different badges
    assert b'getEntriesByType("navigation")' in hit.content
    assert b"serverTiming" in hit.content


def test_badge_says_bypass_for_logged_in_users(seeded, staff):
    response = staff.get("/products/laptop/")
    assert status(response) == "BYPASS"
    assert response["Server-Timing"].startswith('smartcache;desc="BYPASS logged-in";dur=')


def test_admin_pages_have_no_badge_entry(seeded, staff):
    assert not staff.get("/admin/").has_header("Server-Timing")


def save(instance, capture, **changes):
    with capture(execute=True):
        for name, value in changes.items():
            setattr(instance, name, value)
        instance.save()


def test_product_api_depends_on_its_rows_only(seeded, visitor, django_capture_on_commit_callbacks):
    """Captured reads by pk (the object cache): another product's change leaves it cached."""
    visitor.get("/api/products/laptop/")
    elsewhere = Product.objects.exclude(category__slug="laptops").first()
    save(elsewhere, django_capture_on_commit_callbacks, price=Decimal("1.23"))
    assert status(visitor.get("/api/products/laptop/")) == "HIT"


def test_product_page_depends_on_every_product_through_its_related_list(
    seeded, visitor, django_capture_on_commit_callbacks
):
    """The related products are a filter: captured model-wide, since a product moved into
    the category must show up. Another review or an article leaves the page cached."""
    visitor.get("/products/laptop/")
    elsewhere = Product.objects.exclude(category__slug="laptops").first()
    save(elsewhere, django_capture_on_commit_callbacks, category=seeded.category)
    response = visitor.get("/products/laptop/")
    assert status(response) == "MISS"
    other_review = Review.objects.exclude(product=seeded).first()
    save(other_review, django_capture_on_commit_callbacks, rating=1)
    save(NewsArticle.objects.first(), django_capture_on_commit_callbacks, title="Something else")
    assert status(visitor.get("/products/laptop/")) == "HIT"


def test_related_product_change_bubbles_into_the_product_page(
    seeded, visitor, django_capture_on_commit_callbacks
):
    related = Product.objects.filter(category=seeded.category).exclude(pk=seeded.pk)
    shown = related.order_by("-featured", "name").first()
    visitor.get("/products/laptop/")
    save(shown, django_capture_on_commit_callbacks, price=Decimal("4.56"))
    response = visitor.get("/products/laptop/")
    assert status(response) == "MISS"
    assert b"$4.56" in response.content


def category_list_queries(queries) -> list[str]:
    """The queries that list categories (the sidebar's), not joins through products."""
    return [q["sql"] for q in queries if re.search(r'FROM [`"]shop_category[`"]', q["sql"])]


def test_category_sidebar_is_a_fragment_that_outlives_the_page(
    seeded, visitor, django_capture_on_commit_callbacks
):
    with CaptureQueriesContext(connection) as first:
        visitor.get("/")
    assert len(category_list_queries(first.captured_queries)) == 1
    save(seeded, django_capture_on_commit_callbacks, price=Decimal("5.00"))
    with CaptureQueriesContext(connection) as second:
        response = visitor.get("/")
    assert status(response) == "MISS"
    assert b"$5.00" in response.content
    assert category_list_queries(second.captured_queries) == []  # the fragment was a hit
    assert b"Toys" in response.content
    category = Category.objects.get(slug="toys")
    save(category, django_capture_on_commit_callbacks, name="Toys & Games")
    third = visitor.get("/")
    assert status(third) == "MISS"
    assert "Toys &amp; Games" in third.content.decode()


def test_live_stock_is_cached_for_five_seconds_whatever_writes_it(seeded, visitor, settings):
    settings.SMARTCACHE = {**settings.SMARTCACHE, "JITTER": 0}
    url = "/api/products/laptop/stock/"
    first = json.loads(visitor.get(url).content)
    assert (first["stock"], first["ttl"]) == (seeded.stock, 5)
    Product.objects.filter(pk=seeded.pk).update(stock=3)  # a warehouse feed, behind our back
    cached = json.loads(visitor.get(url).content)
    assert cached["stock"] == seeded.stock
    assert cached["checked_at"] == first["checked_at"]
    time.sleep(5.2)
    fresh = json.loads(visitor.get(url).content)
    assert fresh["stock"] == 3
    assert fresh["checked_at"] != first["checked_at"]
