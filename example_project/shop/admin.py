"""Admin for the shop. django_smartcache adds its purge action to each changelist by itself."""

from django.contrib import admin

from .models import Category, NewsArticle, Product, Review


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "stock", "featured", "updated_at"]
    list_editable = ["price", "stock"]
    list_filter = ["featured", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["updated_at"]
    fields = ["name", "slug", "category", "price", "stock", "featured", "description", "updated_at"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["product", "author", "rating", "created_at"]
    list_filter = ["rating"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]  # a select of 100,000 products would not load
    search_fields = ["author", "product__name"]


@admin.register(NewsArticle)
class NewsArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "published_at", "updated_at"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["updated_at"]
