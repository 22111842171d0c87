"""A sitemap index for ``manage.py smartcache warm --sitemap`` tests."""

from django.contrib.sitemaps import Sitemap

from tests.testapp.models import Product


class PagesSitemap(Sitemap):
    def items(self):
        return ["/catalog/", "/home/"]

    def location(self, item):
        return item


class ProductSitemap(Sitemap):
    def items(self):
        return Product.objects.order_by("pk")

    def location(self, item):
        return f"/products/{item.slug}/"


SITEMAPS = {"pages": PagesSitemap, "products": ProductSitemap}
