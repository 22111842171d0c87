"""Cached reads the shop's views share.

- ``product_by_slug``: a product through the per-row object cache (``get_cached``). Products
  are write-through (``SMARTCACHE["WRITE_THROUGH"]``), so after a price change the fresh row is
  already cached when the next page is rendered. ``get_cached`` looks rows up by primary key, so
  the slug is first turned into a pk by a cached function, and the row is checked against the
  slug (a renamed or deleted product drops the stale mapping).
- ``live_stock``: the stock level with a 5-second TTL and no dependencies. Stock is the kind of
  data that changes all the time, often from outside the web app (a warehouse feed, bulk
  updates): a short TTL bounds how old it can be, whatever wrote it.
- ``reviews_tag``: the custom tag of a product's reviews (see ``signals.py``).
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone

from django_smartcache import cached, get_cached, uncaptured

from .models import Product

STOCK_TTL = 5  # seconds


@cached(timeout=60 * 60 * 24)
def product_pk(slug: str) -> int:
    """The primary key of the product with ``slug`` (``Product.DoesNotExist`` if none).

    Not captured (a lookup by slug would depend on every product): the mapping checks
    itself, ``product_by_slug`` drops it when the row it leads to has another slug."""
    with uncaptured():
        return Product.objects.values_list("pk", flat=True).get(slug=slug)


def product_by_slug(slug: str) -> Product:
    """The product with ``slug`` from the object cache; ``Http404`` if there is none.

    Called while a page is being cached, it makes that page depend on this one row.
    """
    for _attempt in range(2):
        try:
            pk = product_pk(slug)
        except Product.DoesNotExist:
            raise Http404(f"No product {slug!r}.") from None
        try:
            product = get_cached(Product, pk)
        except Product.DoesNotExist:
            product = None
        if product is not None and product.slug == slug:
            return product
        product_pk.invalidate(slug)  # renamed or deleted since the mapping was cached
    raise Http404(f"No product {slug!r}.")


@cached(timeout=STOCK_TTL)
def live_stock(slug: str) -> dict:
    """Stock level of a product, at most ``STOCK_TTL`` seconds old."""
    row = Product.objects.filter(slug=slug).values("stock").first()
    if row is None:
        raise Http404(f"No product {slug!r}.")
    return {"slug": slug, "stock": row["stock"], "checked_at": timezone.now().isoformat()}


def reviews_tag(product_id: int) -> str:
    """Custom tag of one product's reviews: pages showing them depend on it."""
    return f"shop-reviews:{product_id}"
