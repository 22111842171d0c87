"""The shop's JSON API, cached like its pages.

- ``/api/products/``: a page of products (``?page=``, ``?category=<slug>``); other query
  parameters share the entry.
- ``/api/products/<slug>/``: one product, read through the write-through object cache.
- ``/api/products/<slug>/stock/``: the live stock level (5-second TTL, not page-cached), polled
  by the product page's widget.
"""

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from django_smartcache import cache_page, get_cached

from .models import Category, Product
from .queries import STOCK_TTL, live_stock, product_by_slug

API_TIMEOUT = 60 * 15
PER_PAGE = 50


def _product(product, category, request):
    return {
        "name": product.name,
        "slug": product.slug,
        "price": str(product.price),
        "stock": product.stock,
        "category": category.slug,
        "url": request.build_absolute_uri(product.get_absolute_url()),
        "updated_at": product.updated_at.isoformat(),
    }


@cache_page(API_TIMEOUT, query_params=["page", "category"])
def product_list(request):
    categories = {c.pk: c for c in Category.objects.all()}  # a handful; no join per page
    products = Product.objects.order_by("pk")
    wanted = request.GET.get("category")
    if wanted:
        products = products.filter(
            category__in=[c for c in categories.values() if c.slug == wanted]
        )
    page = Paginator(products, PER_PAGE).get_page(request.GET.get("page"))
    return JsonResponse(
        {
            "count": page.paginator.count,
            "page": page.number,
            "num_pages": page.paginator.num_pages,
            "results": [_product(p, categories[p.category_id], request) for p in page],
        }
    )


@cache_page(API_TIMEOUT)
def product_detail(request, slug):
    product = product_by_slug(slug)  # depends on this row only
    return JsonResponse(_product(product, get_cached(Category, product.category_id), request))


def product_stock(request, slug):
    data = live_stock(slug)
    checked = parse_datetime(data["checked_at"])
    age = max(0.0, (timezone.now() - checked).total_seconds())
    return JsonResponse({**data, "age": round(age, 1), "ttl": STOCK_TTL})
