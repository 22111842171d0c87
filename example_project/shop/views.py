"""The shop's HTML pages, each cached the way a real shop would cache it.

- home: any product or news change makes it stale (model-level); its category sidebar is a
  ``{% smartcache %}`` fragment that depends on categories only, so it stays cached meanwhile.
- category listing: model-level on products and categories; only ``page`` and ``sort`` are
  part of the key (``?utm_source=...`` shares the entry).
- product detail: row-level. It depends on the rows it read (the product, its category, the
  related products in their fragment) and on a tag for the product's reviews.
- news: the list on the model, an article on its own row.

Every response is labelled ``X-Smartcache: HIT|MISS|BYPASS``; the badge middleware copies that
into ``Server-Timing`` for the page's badge.
"""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from django_smartcache import cache_page, depend_on, get_cached

from .models import Category, NewsArticle, Product
from .queries import STOCK_TTL, product_by_slug, reviews_tag

PAGE_TIMEOUT = 60 * 15
PER_PAGE = 24
SORTS = {
    "featured": ("Featured", ["-featured", "name"]),
    "name": ("Name", ["name"]),
    "price": ("Price: low to high", ["price", "name"]),
    "-price": ("Price: high to low", ["-price", "name"]),
}


def _render(request, template, context):
    context.setdefault("categories", Category.objects.all())  # lazy: only the sidebar reads it
    return render(request, template, {**context, "rendered_at": timezone.now()})


@cache_page(PAGE_TIMEOUT, depends_on=[Product, NewsArticle])
def home(request):
    featured = Product.objects.filter(featured=True).select_related("category")[:8]
    return _render(
        request, "shop/home.html", {"featured": featured, "news": NewsArticle.objects.all()[:3]}
    )


@cache_page(PAGE_TIMEOUT, depends_on=[Product, Category], query_params=["page", "sort"])
def category(request, slug):
    current = get_object_or_404(Category, slug=slug)
    sort = request.GET.get("sort")
    if sort not in SORTS:
        sort = "featured"
    products = current.products.order_by(*SORTS[sort][1])
    page = Paginator(products, PER_PAGE).get_page(request.GET.get("page"))
    return _render(
        request,
        "shop/category.html",
        {
            "category": current,
            "page": page,
            "sort": sort,
            "sorts": [(key, label) for key, (label, _order) in SORTS.items()],
        },
    )


@cache_page(PAGE_TIMEOUT)
def product_detail(request, slug):
    # Row-level: get_cached() makes this page depend on the product's row and its category's
    # row (not on the whole models), so saving another product leaves it cached.
    product = product_by_slug(slug)
    product_category = get_cached(Category, product.category_id)
    related = list(
        Product.objects.filter(category_id=product.category_id)
        .exclude(pk=product.pk)
        .order_by("-featured", "name")[:4]
    )
    depend_on(reviews_tag(product.pk))
    return _render(
        request,
        "shop/product_detail.html",
        {
            "product": product,
            "category": product_category,
            "related": related,
            "reviews": product.reviews.all()[:10],
            "stock_ttl": STOCK_TTL,
        },
    )


@cache_page(PAGE_TIMEOUT, depends_on=[NewsArticle])
def news_list(request):
    return _render(request, "shop/news_list.html", {"articles": NewsArticle.objects.all()[:20]})


@cache_page(PAGE_TIMEOUT)
def news_detail(request, slug):
    article = get_object_or_404(NewsArticle, slug=slug)
    depend_on(article)  # row-level: fixing a typo in this article re-renders only this page
    return _render(request, "shop/news_detail.html", {"article": article})
