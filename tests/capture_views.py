"""Pages that declare no dependencies, one per query shape (tests/test_capture.py).

Each is a bare ``@cache_page(60)``: what it reads is captured. ``pk`` names the laptop.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.generic import DetailView

from django_smartcache import cache_page
from tests.testapp.models import Category, Product, Tag


def _text(value) -> HttpResponse:
    return HttpResponse(str(value))


@cache_page(60)
def get(request, pk):
    product = Product.objects.get(pk=pk)
    return _text(f"{product.name}={product.price}")


@cache_page(60)
def get_or_404(request, pk):
    product = get_object_or_404(Product, pk=pk)
    return _text(f"{product.name}={product.price}")


@method_decorator(cache_page(60), name="dispatch")
class Detail(DetailView):
    model = Product

    def render_to_response(self, context, **kwargs):
        return _text(f"{self.object.name}={self.object.price}")


@cache_page(60)
def pk_in(request, pk):
    return _text(list(Product.objects.filter(pk__in=[pk]).values_list("price", flat=True)))


@cache_page(60)
def filtered(request, pk):
    return _text(list(Product.objects.filter(price__gt=0).values_list("price", flat=True)))


@cache_page(60)
def select_related(request, pk):
    product = Product.objects.select_related("category").get(pk=pk)
    return _text(f"{product.price} in {product.category.name}")


@cache_page(60)
def prefetch_related(request, pk):
    products = Product.objects.prefetch_related("tags").order_by("pk")
    return _text([(p.price, [t.name for t in p.tags.all()]) for p in products])


@cache_page(60)
def aggregate(request, pk):
    return _text(Product.objects.aggregate(total=Sum("price"))["total"])


@cache_page(60)
def values_list(request, pk):
    return _text(list(Category.objects.values_list("name", flat=True)))


@cache_page(60)
def subquery(request, pk):
    wanted = Category.objects.filter(name__startswith="C").values("pk")
    return _text(list(Product.objects.filter(category__in=wanted).values_list("price", flat=True)))


@cache_page(60)
def exists(request, pk):
    return _text(Product.objects.filter(pk=pk, price__gt=900).exists())


@cache_page(60)
def count(request, pk):
    return _text(Category.objects.count())


@cache_page(60)
def raw_cursor(request, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {Tag._meta.db_table} ORDER BY name")
        return _text([row[0] for row in cursor.fetchall()])


@cache_page(60)
def raw_queryset(request, pk):
    table = Product._meta.db_table
    rows = Product.objects.raw(f"SELECT id, name, price FROM {table} WHERE price > %s", [0])
    return _text([str(p.price) for p in rows])


@cache_page(60)
def template_tag(request, pk):
    return render(request, "capture/tag_count.html")


@cache_page(60)
def fragment(request, pk):
    product = Product.objects.get(pk=pk)
    return render(request, "capture/fragment.html", {"product": product})


SHAPES = {
    "get": get,
    "get_or_404": get_or_404,
    "detail_view": Detail.as_view(),
    "pk_in": pk_in,
    "filter": filtered,
    "select_related": select_related,
    "prefetch_related": prefetch_related,
    "aggregate": aggregate,
    "values_list": values_list,
    "subquery": subquery,
    "exists": exists,
    "count": count,
    "raw_cursor": raw_cursor,
    "raw_queryset": raw_queryset,
    "template_tag": template_tag,
    "fragment": fragment,
}

urlpatterns = [path(f"{name}/<int:pk>/", view) for name, view in SHAPES.items()]
