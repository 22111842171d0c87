"""Edits made in the admin, as a user makes them, show on the very next request.

Each test submits the real admin form (every field, CSRF token included) in a committed
transaction, so the invalidation and the write-through run exactly as on the demo server.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from django_smartcache import get_cached
from example_project.shop.models import NewsArticle, Product, Review
from tests.demo.browser import form_data, submit
from tests.helpers import status

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PRICE = "849.50"
LAPTOP_PAGES = ["/products/laptop/", "/category/laptops/", "/", "/api/products/laptop/"]


def warm(visitor, urls):
    for url in urls:
        visitor.get(url)
        assert status(visitor.get(url)) == "HIT", url


def test_laptop_price_changed_in_the_admin_shows_everywhere_at_once(
    seeded, visitor, staff, django_assert_num_queries
):
    warm(visitor, [*LAPTOP_PAGES, "/api/products/"])
    sent = submit(staff, f"/admin/shop/product/{seeded.pk}/change/", price=NEW_PRICE)
    assert {"name", "slug", "category", "stock", "description"} <= set(sent)

    # Write-through: the committed save already put the fresh row in the object cache.
    with django_assert_num_queries(0):
        assert get_cached(Product, seeded.pk).price == Decimal(NEW_PRICE)

    for url in ["/products/laptop/", "/category/laptops/", "/"]:
        response = visitor.get(url)
        assert status(response) == "MISS", url
        assert f"${NEW_PRICE}".encode() in response.content, url
        assert b"$999.00" not in response.content, url
    api = visitor.get("/api/products/laptop/")
    assert status(api) == "MISS"
    assert json.loads(api.content)["price"] == NEW_PRICE
    listing = json.loads(visitor.get("/api/products/").content)
    assert listing["results"][0] == {**listing["results"][0], "slug": "laptop", "price": NEW_PRICE}
    for url in LAPTOP_PAGES:
        assert status(visitor.get(url)) == "HIT", url


def test_product_page_is_rebuilt_from_the_write_through_row(
    seeded, visitor, staff, django_assert_max_num_queries
):
    visitor.get("/products/laptop/")
    submit(staff, f"/admin/shop/product/{seeded.pk}/change/", price=NEW_PRICE)
    # Re-rendering needs the related products and the reviews, but not the product row.
    with django_assert_max_num_queries(2) as queries:
        response = visitor.get("/products/laptop/")
    assert f"${NEW_PRICE}".encode() in response.content
    sqls = [q["sql"] for q in queries.captured_queries]
    assert all("shop_review" in sql or "category_id" in sql for sql in sqls), sqls


def test_news_typo_fixed_in_the_admin_shows_at_once(seeded, visitor, staff):
    article = NewsArticle.objects.get(slug="summer-sale")
    pages = ["/news/summer-sale/", "/news/", "/"]
    warm(visitor, pages)
    assert b"Mnoday" in visitor.get("/news/summer-sale/").content
    submit(
        staff,
        f"/admin/shop/newsarticle/{article.pk}/change/",
        title="Summer sale starts on Monday",
    )
    for url in pages:
        response = visitor.get(url)
        assert status(response) == "MISS", url
        assert b"Summer sale starts on Monday" in response.content, url
        assert b"Mnoday" not in response.content, url
    assert status(visitor.get("/products/laptop/")) == "MISS"  # never cached before
    assert status(visitor.get("/news/welcome/")) == "MISS"


def test_other_news_pages_stay_cached_after_a_fix(seeded, visitor, staff):
    warm(visitor, ["/news/welcome/"])
    article = NewsArticle.objects.get(slug="summer-sale")
    submit(staff, f"/admin/shop/newsarticle/{article.pk}/change/", title="Summer sale: Monday")
    assert status(visitor.get("/news/welcome/")) == "HIT"  # row-level: only the fixed article


def test_new_review_added_in_the_admin_shows_on_the_product_page(seeded, visitor, staff):
    warm(visitor, ["/products/laptop/"])
    submit(
        staff,
        "/admin/shop/review/add/",
        product=seeded.pk,
        author="Tester",
        rating=5,
        body="Fast enough to compile Django twice.",
    )
    assert Review.objects.filter(author="Tester", product=seeded).exists()
    response = visitor.get("/products/laptop/")
    assert status(response) == "MISS"
    assert b"Fast enough to compile Django twice." in response.content


def test_stock_edited_in_the_changelist_reaches_the_product_page(seeded, visitor, staff):
    warm(visitor, ["/api/products/laptop/"])
    submit(staff, f"/admin/shop/product/{seeded.pk}/change/", stock=7)
    assert json.loads(visitor.get("/api/products/laptop/").content)["stock"] == 7


def test_purge_action_on_the_changelist_makes_the_laptop_pages_stale(seeded, visitor, staff):
    other = Product.objects.exclude(pk=seeded.pk).first()
    # (Its product page reads every product through its related list: not among the others.)
    others = [f"/api/products/{other.slug}/", "/news/welcome/"]
    warm(visitor, ["/products/laptop/", "/api/products/laptop/", *others])
    page = staff.get("/admin/shop/product/")
    assert b"Purge cache for selected products" in page.content
    data = form_data(page.content.decode(), "changelist-form")
    data.update(
        action=["smartcache_purge_selected"], _selected_action=[str(seeded.pk)], index=["0"]
    )
    assert staff.post("/admin/shop/product/", data).status_code == 302
    for url in ["/products/laptop/", "/api/products/laptop/"]:
        assert status(visitor.get(url)) == "MISS", url
    for url in others:
        assert status(visitor.get(url)) == "HIT", url
