"""``manage.py seed_demo``: deterministic, idempotent, batched, and it prints the admin login."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from example_project.shop.management.commands import seed_demo
from example_project.shop.models import Category, NewsArticle, Product, Review
from tests.helpers import status

pytestmark = pytest.mark.django_db


def seed(products: int) -> str:
    out = io.StringIO()
    call_command("seed_demo", products=products, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "products": list(Product.objects.order_by("slug").values_list("slug", "price", "pk")),
        "reviews": list(Review.objects.order_by("pk").values_list("product__slug", "author")),
        "categories": Category.objects.count(),
        "news": NewsArticle.objects.count(),
    }


def test_seed_creates_the_demo_scenarios_and_prints_the_login(db):
    output = seed(40)
    assert Product.objects.count() == 40
    laptop = Product.objects.get(slug="laptop")
    assert (laptop.name, str(laptop.price), laptop.category.slug) == ("Laptop", "999.00", "laptops")
    assert laptop.reviews.count() == 3
    assert laptop.featured
    assert Category.objects.count() == len(seed_demo.CATEGORIES)
    assert "Mnoday" in NewsArticle.objects.get(slug="summer-sale").title
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")
    assert "Admin login: admin / admin" in output
    assert "added 40 products" in output
    assert "Products        40/40 [" in output  # the progress line's final state


def test_seed_is_idempotent(db):
    seed(40)
    before = snapshot()
    output = seed(40)
    assert snapshot() == before
    assert "added 0 products, 0 reviews and 0 news articles" in output


def test_a_larger_count_extends_the_catalogue_in_batches(db, monkeypatch):
    monkeypatch.setattr(seed_demo, "BATCH", 7)
    seed(10)
    before = snapshot()
    seed(30)
    after = snapshot()
    assert len(after["products"]) == 30
    assert set(before["products"]) <= set(after["products"])  # same rows, same pks
    assert Product.objects.get(slug="laptop").reviews.count() == 3
    # Every product got the reviews its number decides, in whichever batch it landed.
    categories = {c.name: c for c in Category.objects.all()}
    now = timezone.now()
    for i in range(30):
        slug = seed_demo.product_fields(i, categories)["slug"]
        expected = [(r.author, r.rating) for r in seed_demo.review_rows(i, Product(), now)]
        got = Review.objects.filter(product__slug=slug).values_list("author", "rating")
        assert sorted(got) == sorted(expected), slug


def test_featured_products_are_spread_over_categories(db):
    seed(300)
    featured = Product.objects.filter(featured=True)
    assert featured.count() == 8
    assert featured.values("category").distinct().count() >= 6


def test_seed_keeps_edits_made_since(db):
    seed(20)
    NewsArticle.objects.filter(slug="summer-sale").update(title="Summer sale starts on Monday")
    Product.objects.filter(slug="laptop").update(price="849.50")
    seed(20)
    assert NewsArticle.objects.get(slug="summer-sale").title == "Summer sale starts on Monday"
    assert str(Product.objects.get(slug="laptop").price) == "849.50"


def test_seed_invalidates_what_was_cached(db, client):
    seed(20)
    assert json.loads(client.get("/api/products/").content)["count"] == 20
    assert status(client.get("/api/products/")) == "HIT"
    seed(30)  # bulk_create() sends no signals; the command invalidates the shop's models
    response = client.get("/api/products/")
    assert status(response) == "MISS"
    assert json.loads(response.content)["count"] == 30


def test_seed_refuses_a_non_positive_count(db):
    with pytest.raises(CommandError, match="at least 1"):
        seed(0)
