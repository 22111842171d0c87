"""Fixtures for the demo shop tests: the demo's URLs, middleware and SMARTCACHE, seeded data."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from example_project.demo import settings as demo_settings
from example_project.shop.models import Product

SEED_PRODUCTS = 80


@pytest.fixture(autouse=True)
def demo_project(settings):
    """Run each test with the demo's own URLconf, middleware (the badge) and SMARTCACHE."""
    settings.ROOT_URLCONF = "example_project.demo.urls"
    settings.MIDDLEWARE = demo_settings.MIDDLEWARE
    settings.SMARTCACHE = demo_settings.SMARTCACHE


@pytest.fixture
def seeded(db):
    """The demo data (a small catalogue) and the laptop every scenario uses."""
    call_command("seed_demo", products=SEED_PRODUCTS, stdout=io.StringIO())
    return Product.objects.get(slug="laptop")


@pytest.fixture
def visitor() -> Client:
    """An anonymous shopper (logged-in users bypass the cache)."""
    return Client()


@pytest.fixture
def staff(db) -> Client:
    """The seeded admin, logged in, with CSRF checks enforced as in a browser."""
    from django.contrib.auth import get_user_model

    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="admin"))
    return client
