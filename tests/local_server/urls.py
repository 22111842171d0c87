"""The pages of the coherence servers: one product's price, cached two ways; the admin."""

import json
import os

from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from django_smartcache import cache_page, depend_on, uncaptured
from tests.testapp.models import Product


@cache_page(600)
def price_by_pk(request, pk):
    """Bare: the dependency on the row is captured from the query."""
    return HttpResponse(f"price={Product.objects.get(pk=pk).price}")


@cache_page(600)
def price_by_slug(request, slug):
    """Declared: the lookup is not captured, ``depend_on`` names the row."""
    with uncaptured():
        product = get_object_or_404(Product, slug=slug)
    depend_on(product)
    return HttpResponse(f"price={product.price}")


@cache_page(600, depends_on=["churn"])
def churn(request, n):
    """A distinct page per ``n`` of about 1 KiB, for the local tier's memory cap."""
    return HttpResponse(f"{n:08d}".encode() * 128)


def ping(request):
    return HttpResponse("pong")


def local_stats(request):
    """The local tier's counters of the worker that answers (issue 17), with its pid."""
    from django_smartcache.stores.local import stats

    body = json.dumps({"pid": os.getpid(), **stats("default")})
    return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("price/<int:pk>/", price_by_pk),
    path("price/by-slug/<slug:slug>/", price_by_slug),
    path("churn/<int:n>/", churn),
    path("ping/", ping),
    path("local-stats/", local_stats),
]
