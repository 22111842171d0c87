"""Fill the demo shop with categories and products, and create a local admin login.

Idempotent: categories are matched on slug, products are inserted with ignore_conflicts on their
unique slug, and the admin user is created only when missing. The data are deterministic (a
fixed random seed), so every run and every machine gets the same catalogue.
"""

import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify

from example_project.shop.models import Category, Product

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"

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
ADJECTIVES = [
    "Classic", "Compact", "Deluxe", "Eco", "Essential", "Nimble", "Pro", "Quiet", "Rapid",
    "Sturdy", "Ultra", "Vivid",
]  # fmt: skip


class Command(BaseCommand):
    help = "Create demo categories, products (including 'Laptop', slug 'laptop') and admin/admin."

    def add_arguments(self, parser):
        parser.add_argument(
            "--products",
            type=int,
            default=200,
            help="number of products the catalogue should have at least (default: 200)",
        )

    @transaction.atomic
    def handle(self, *args, products, **options):
        categories = {
            name: Category.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]
            for name in CATEGORIES
        }

        rng = random.Random(42)
        wanted = [
            Product(
                name="Laptop",
                slug="laptop",
                price=Decimal("999.00"),
                description="The product every demo link points at.",
                stock=25,
                category=categories["Laptops"],
            )
        ]
        kinds = [(cat, kind) for cat, names in CATEGORIES.items() for kind in names]
        for i in range(1, max(products, 1)):
            category, kind = kinds[i % len(kinds)]
            name = f"{rng.choice(ADJECTIVES)} {kind} {i:04d}"
            wanted.append(
                Product(
                    name=name,
                    slug=slugify(name),
                    price=Decimal(rng.randint(199, 199_900)) / 100,
                    description=f"A {kind.lower()} from the {category.lower()} department.",
                    stock=rng.randint(0, 50),
                    category=categories[category],
                )
            )
        before = Product.objects.count()
        Product.objects.bulk_create(wanted, ignore_conflicts=True, batch_size=500)
        created = Product.objects.count() - before

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {created} products added; {Product.objects.count()} products in "
                f"{Category.objects.count()} categories."
            )
        )

        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
            self.stdout.write(self.style.SUCCESS("Created the superuser."))
        self.stdout.write(
            f"Admin login: {ADMIN_USERNAME} / {ADMIN_PASSWORD} "
            "(a local demo account; never use it anywhere else)"
        )
