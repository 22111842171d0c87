"""Cached pages and a cached function that show products with their tags (tests/test_stress.py).

Each product is shown as ``P<i>=<price> [<lowest tag>-<highest tag>]`` (``[]`` without tags;
tag names are numbers). The tags are dependencies found at run time (``depend_on``), the
product's row too; the many-to-many relation is named as its through model, so writes to it
that send no signal (``Product.tags.through.objects.bulk_create``) reach these entries too:
such an ``INSERT`` bumps that model's tag only (docs/reference/invalidation.md). (Run-time,
not declared: the registry, which ``manage.py smartcache stats`` lists and tests/test_command.py
checks, stays as it was.)

The ``bare_*`` variants declare nothing at all: everything they depend on is captured from
their queries (a lookup by slug and the tags' join: whole models).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from django_smartcache import cache_page, cached, depend_on
from tests.testapp.models import Product, Tag
from tests.views import ran

Through = Product.tags.through


def describe(product: Product) -> str:
    names = sorted(int(tag.name) for tag in product.tags.all())
    shown = f"[{names[0]}-{names[-1]}]" if names else "[]"
    return f"{product.name}={product.price} {shown}"


@cache_page(60, depends_on=[Product])
def catalog(request):
    ran("stress_catalog")
    depend_on(Tag, Through)
    products = Product.objects.order_by("pk").prefetch_related("tags")
    return HttpResponse(", ".join(describe(product) for product in products))


@cache_page(60)
def detail(request, slug):
    ran("stress_detail")
    depend_on(Tag, Through)
    product = get_object_or_404(Product, slug=slug)
    depend_on(product)
    return HttpResponse(describe(product))


@cached(60)
def card(slug: str) -> str:
    """Raises ``Product.DoesNotExist`` while the product is deleted (nothing is cached)."""
    ran("stress_card")
    depend_on(Tag, Through)
    product = Product.objects.get(slug=slug)
    depend_on(product)
    return describe(product)


@cache_page(60)
def bare_catalog(request):
    ran("stress_bare_catalog")
    products = Product.objects.order_by("pk").prefetch_related("tags")
    return HttpResponse(", ".join(describe(product) for product in products))


@cache_page(60)
def bare_detail(request, slug):
    ran("stress_bare_detail")
    return HttpResponse(describe(get_object_or_404(Product, slug=slug)))


@cached(60)
def bare_card(slug: str) -> str:
    """Raises ``Product.DoesNotExist`` while the product is deleted (nothing is cached)."""
    ran("stress_bare_card")
    return describe(Product.objects.get(slug=slug))


urlpatterns = [
    path("catalog/", catalog),
    path("products/<slug:slug>/", detail),
    path("bare/catalog/", bare_catalog),
    path("bare/products/<slug:slug>/", bare_detail),
]
