"""Functions the test suite caches with ``cached``; each counts its real runs."""

from __future__ import annotations

from django_smartcache import cached, depend_on, uncaptured
from tests.testapp.models import Product
from tests.views import ran


@cached(60, depends_on=[Product])
def price_list(limit: int = 10) -> list[tuple[str, str]]:
    ran("price_list")
    return [(p.name, str(p.price)) for p in Product.objects.order_by("pk")[:limit]]


@cached(60)
def product_price(slug: str) -> str:
    ran("product_price")
    with uncaptured():  # by slug: captured, model-wide; the row is declared instead
        product = Product.objects.get(slug=slug)
    depend_on(product)
    return str(product.price)


@cached(60, depends_on=["rates"])
def describe(product: Product) -> str:
    ran("describe")
    return f"{product.name} costs {product.price}"


@cached(60, depends_on=[Product], write_through=True)
def cheapest() -> str:
    ran("cheapest")
    product = Product.objects.order_by("price").first()
    return f"{product.name}={product.price}" if product else ""


@cached(60)
def unpicklable_result():
    ran("unpicklable")
    return lambda: None


@cached(60)
def queryset_result():
    return Product.objects.all()


@cached(60, key=lambda slug, **_: f"by-slug:{slug}")
def custom_key(slug: str, verbose: bool = False) -> str:
    ran("custom_key")
    return slug.upper()


class Rates:
    """A plain class with a cached method (keyed by the pickled instance)."""

    def __init__(self, base: int) -> None:
        self.base = base

    @cached(60)
    def times(self, n: int) -> int:
        ran("times")
        return self.base * n
