"""Models the test suite caches and invalidates."""

from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="products")
    tags = models.ManyToManyField(Tag, blank=True, related_name="products")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Sku(models.Model):
    """A string primary key: MySQL's default collation compares it case- and
    trailing-space-insensitively."""

    code = models.CharField(max_length=20, primary_key=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self):
        return self.code
