"""The shop's HTML pages, each cached the way a real shop would cache it.

No view lists its dependencies: what each one reads while it runs is captured
(``SMARTCACHE["AUTO_DEPENDENCIES"]``, on by default): a read by primary key makes the page
depend on that row, any other query on the whole model of every table it names.

- home: the featured products, the news and the categories it reads (model-level); its
  category sidebar is a ``{% smartcache %}`` fragment that depends on categories only, so it
  stays cached while products change.
- category listing: the category, its products; only ``page`` and ``sort`` are part of the
  key (``?utm_source=...`` shares the entry).
- product detail: the product's row and its category's row (read by pk through the object
  cache), and every product through the related-products list (a filter: a product moved
  into this category must show up). Its reviews are the one declared dependency: a custom
  tag per product (``reviews_tag``, bumped by ``signals.py`` and by the nightly import that
  writes reviews outside Django), more precise than capture, which would make every page
  depend on every review.
- news: the list on the model; an article on its own row (declared: it is found by slug).

Every response is labelled ``X-Smartcache: HIT|MISS|BYPASS``; the badge middleware copies that
into ``Server-Timing`` for the page's badge.
"""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from django_smartcache import cache_page, depend_on, get_cached, uncaptured

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


@cache_page(PAGE_TIMEOUT)
def home(request):
    featured = Product.objects.filter(featured=True).select_related("category")[:8]
    return _render(
        request, "shop/home.html", {"featured": featured, "news": NewsArticle.objects.all()[:3]}
    )


@cache_page(PAGE_TIMEOUT, query_params=["page", "sort"])
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
    product = product_by_slug(slug)  # the product's row (get_cached: a read by pk)
    product_category = get_cached(Category, product.category_id)  # the category's row
    related = list(  # a filter: captured, every product (one moved in must show up)
        Product.objects.filter(category_id=product.category_id)
        .exclude(pk=product.pk)
        .order_by("-featured", "name")[:4]
    )
    # The reviews: declared by a custom tag of this product's reviews, which capture cannot
    # name (it would depend on every review), and which the review import bumps too.
    with uncaptured():
        reviews = list(product.reviews.all()[:10])
    depend_on(reviews_tag(product.pk))
    return _render(
        request,
        "shop/product_detail.html",
        {
            "product": product,
            "category": product_category,
            "related": related,
            "reviews": reviews,
            "stock_ttl": STOCK_TTL,
        },
    )


@cache_page(PAGE_TIMEOUT)
def news_list(request):
    return _render(request, "shop/news_list.html", {"articles": NewsArticle.objects.all()[:20]})


@cache_page(PAGE_TIMEOUT)
def news_detail(request, slug):
    # Found by slug (a filter: captured, every article); declared as its row instead, so
    # fixing a typo in this article re-renders only this page.
    with uncaptured():
        article = get_object_or_404(NewsArticle, slug=slug)
    depend_on(article)
    return _render(request, "shop/news_detail.html", {"article": article})
