"""Fill the demo shop: categories, products with reviews, news, and a local admin login.

``python example_project/manage.py seed_demo [--products N]`` (default 2,000; 100,000 takes well
under a few minutes on SQLite). The data are deterministic: product ``i`` always has the same
name, slug, price and reviews, so running it again only adds what is missing (products are
matched on their slug, articles on theirs, the admin user on its username), and a larger ``N``
later extends the catalogue. Rows are written with ``bulk_create`` in batches, each batch (a
thousand products and their reviews) in its own transaction.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from django_smartcache import invalidate
from example_project.shop.models import Category, NewsArticle, Product, Review

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
BATCH = 1000

CATEGORIES = {
    "Laptops": ["Ultrabook", "Workstation", "Chromebook", "Gaming Laptop"],
    "Phones": ["Smartphone", "Flip Phone", "Rugged Phone"],
    "Audio": ["Headphones", "Earbuds", "Speaker", "Soundbar"],
    "Cameras": ["Mirrorless Camera", "Action Camera", "Lens"],
    "Books": ["Cookbook", "Novel", "Field Guide", "Atlas"],
    "Kitchen": ["Kettle", "Espresso Machine", "Knife Set", "Blender"],
    "Garden": ["Hose", "Pruner", "Lawn Mower", "Planter"],
    "Toys": ["Puzzle", "Kite", "Building Blocks", "Board Game"],
}
KINDS = [(category, kind) for category, kinds in CATEGORIES.items() for kind in kinds]
ADJECTIVES = [
    "Classic", "Compact", "Deluxe", "Eco", "Essential", "Nimble", "Pro", "Quiet", "Rapid",
    "Sturdy", "Ultra", "Vivid",
]  # fmt: skip
AUTHORS = ["Ada", "Grace", "Linus", "Margaret", "Guido", "Barbara", "Ken", "Frances"]
OPINIONS = [
    (5, "Exactly what I needed."),
    (4, "Good value, arrived quickly."),
    (3, "Does the job, nothing more."),
    (5, "Would buy again."),
    (2, "Smaller than I expected."),
]
FEATURED_EVERY = 37  # products 0, 37, 74, ... 259 are featured: eight, across the categories
NEWS = [
    # (slug, title, body, days ago). The "summer-sale" title has the typo the docs' tour fixes.
    (
        "summer-sale",
        "Summer sale starts on Mnoday",
        "Every laptop is 10 % off for a week. Prices update the moment we change them, "
        "and so does every cached page that shows them.",
        1,
    ),
    (
        "welcome",
        "Welcome to the Smartcache shop",
        "Every page of this shop is cached in Redis, and every page is always up to date: "
        "saving a product in the admin makes exactly the pages that show it stale.",
        7,
    ),
    (
        "free-shipping",
        "Free shipping on orders over $50",
        "From today, orders over $50 ship for free.",
        14,
    ),
]


def _mix(i: int) -> int:
    """A deterministic pseudo-random number for product ``i``."""
    return (i * 2654435761 + 97) % 4294967291


def product_fields(i: int, categories: dict[str, Category]) -> dict:
    """The fields of product number ``i`` (0 is the "Laptop" every demo link points at)."""
    if i == 0:
        return {
            "name": "Laptop",
            "slug": "laptop",
            "price": Decimal("999.00"),
            "description": "The laptop the docs' tour changes the price of.",
            "stock": 25,
            "category": categories["Laptops"],
            "featured": True,
        }
    h = _mix(i)
    category, kind = KINDS[i % len(KINDS)]
    adjective = ADJECTIVES[(h >> 12) % len(ADJECTIVES)]
    name = f"{adjective} {kind} {i:05d}"
    return {
        "name": name,
        "slug": name.lower().replace(" ", "-"),
        "price": Decimal(199 + (h >> 4) % 199_701) / 100,
        "description": f"A {kind.lower()} from the {category.lower()} department.",
        "stock": (h >> 8) % 51,
        "category": categories[category],
        "featured": i % FEATURED_EVERY == 0 and i <= 7 * FEATURED_EVERY,
    }


def review_rows(i: int, product: Product, now) -> list[Review]:
    """Zero to three reviews for product ``i`` (always three for the laptop)."""
    count = 3 if i == 0 else _mix(i + 7) % 4
    reviews = []
    for n in range(count):
        rating, body = OPINIONS[(i + n) % len(OPINIONS)]
        author = AUTHORS[(i * 3 + n) % len(AUTHORS)]
        created = now - timedelta(days=n + 1, minutes=i % 1440)
        reviews.append(
            Review(product=product, author=author, rating=rating, body=body, created_at=created)
        )
    return reviews


class Progress:
    """A one-line progress bar on a terminal; only the final line elsewhere."""

    def __init__(self, out, label: str, total: int) -> None:
        self.out, self.label, self.total = out, label, total
        self.started = time.monotonic()
        self.tty = hasattr(out, "isatty") and out.isatty()

    def update(self, done: int) -> None:
        if self.tty:
            self.out.write(self._line(done), ending="")
            self.out.flush()

    def finish(self, done: int) -> None:
        self.out.write(self._line(done) if self.tty else self._line(done).lstrip("\r"))

    def _line(self, done: int) -> str:
        share = done / self.total if self.total else 1.0
        bar = "#" * int(share * 30)
        took = time.monotonic() - self.started
        return f"\r  {self.label} {done:>9,}/{self.total:,} [{bar:<30}] {share:4.0%} {took:6.1f} s"


class Command(BaseCommand):
    help = (
        "Create demo categories, products (including 'Laptop', slug 'laptop'), reviews, news "
        f"and the local admin login {ADMIN_USERNAME}/{ADMIN_PASSWORD}. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--products",
            type=int,
            default=2000,
            help="number of products the catalogue should have (default: 2000)",
        )

    def handle(self, *args, products: int, **options):
        if products < 1:
            raise CommandError("--products must be at least 1.")
        started = time.monotonic()
        with transaction.atomic():
            categories = {
                name: Category.objects.get_or_create(slug=name.lower(), defaults={"name": name})[0]
                for name in CATEGORIES
            }
            articles = self._news()
        added, reviews = self._products(products, categories)
        # bulk_create() sends no signals: make sure no cached page keeps the old catalogue.
        invalidate(Category, Product, Review, NewsArticle)
        took = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: added {added:,} products, {reviews:,} reviews and {articles} news "
                f"articles in {took:.1f} s. Now {Product.objects.count():,} products in "
                f"{len(categories)} categories."
            )
        )
        self._admin()

    def _products(self, count: int, categories: dict[str, Category]) -> tuple[int, int]:
        existing = set(Product.objects.values_list("slug", flat=True))
        wanted = [product_fields(i, categories) for i in range(count)]
        todo = [(i, f) for i, f in enumerate(wanted) if f["slug"] not in existing]
        progress = Progress(self.stdout, "Products", len(todo))
        now = timezone.now()
        added = reviews = 0
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            with transaction.atomic():
                rows = Product.objects.bulk_create([Product(**f) for _i, f in batch])
                if any(row.pk is None for row in rows):  # backends that return no ids (MySQL)
                    pks = dict(
                        Product.objects.filter(slug__in=[r.slug for r in rows]).values_list(
                            "slug", "pk"
                        )
                    )
                    for row in rows:
                        row.pk = pks[row.slug]
                new_reviews = [
                    r
                    for (i, _f), row in zip(batch, rows, strict=True)
                    for r in review_rows(i, row, now)
                ]
                Review.objects.bulk_create(new_reviews, batch_size=BATCH)
            added += len(rows)
            reviews += len(new_reviews)
            progress.update(added)
        progress.finish(added)
        return added, reviews

    def _news(self) -> int:
        now = timezone.now()
        created = 0
        for slug, title, body, days_ago in NEWS:
            _article, new = NewsArticle.objects.get_or_create(
                slug=slug,
                defaults={"title": title, "body": body, "published_at": now - timedelta(days_ago)},
            )
            created += new
        return created

    def _admin(self) -> None:
        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
            self.stdout.write(self.style.SUCCESS(f"Created the superuser {ADMIN_USERNAME!r}."))
        self.stdout.write(
            f"Admin login: {ADMIN_USERNAME} / {ADMIN_PASSWORD} "
            "(a local demo account: never use this database anywhere else)"
        )
