"""The demo shop's pages, cached with django-smartcache.

Each page names the data it is built from; saving a product or category (in the admin, the
shell) makes exactly the affected pages stale.
"""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from django_smartcache import cache_page, depend_on

from .models import Category, Product


@cache_page(60 * 15, depends_on=[Product, Category])
def catalog(request):
    products = Product.objects.select_related("category").order_by("category__name", "name")
    return render(
        request,
        "shop/catalog.html",
        {"products": products, "rendered_at": timezone.now()},
    )


@cache_page(60 * 15, depends_on=[Category])
def product_detail(request, slug):
    product = get_object_or_404(Product.objects.select_related("category"), slug=slug)
    depend_on(product)
    return render(
        request,
        "shop/product_detail.html",
        {"product": product, "rendered_at": timezone.now()},
    )
