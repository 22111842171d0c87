"""Simulate a warehouse feed that keeps changing a product's stock behind the web app's back.

``python example_project/manage.py warehouse [--product laptop] [--seconds 60]`` sets a new
stock level every second with ``QuerySet.update()``, the way a bulk import or another service
would write it. The product page's live-stock widget (a 5-second TTL, no dependencies) shows
each new level within 5 seconds whatever wrote it: the lesson for data that changes all the
time is a short TTL (or write-through), not a long TTL waiting for an invalidation.
"""

import random
import time

from django.core.management.base import BaseCommand, CommandError

from example_project.shop.models import Product


class Command(BaseCommand):
    help = "Change a product's stock every second for a while (a fake warehouse feed)."

    def add_arguments(self, parser):
        parser.add_argument("--product", default="laptop", help="product slug (default: laptop)")
        parser.add_argument("--seconds", type=int, default=60, help="how long (default: 60)")

    def handle(self, *args, product, seconds, **options):
        if not Product.objects.filter(slug=product).exists():
            raise CommandError(f"No product with slug {product!r}: run seed_demo first.")
        rng = random.Random()
        for _second in range(max(seconds, 1)):
            stock = rng.randint(0, 40)
            Product.objects.filter(slug=product).update(stock=stock)
            self.stdout.write(f"{time.strftime('%H:%M:%S')}  {product}: stock = {stock}")
            time.sleep(1)
