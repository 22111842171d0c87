"""The test models in the admin, as a project would register them (no smartcache code)."""

from django.contrib import admin

from .models import Category, Product, Tag


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price"]
    list_select_related = ["category"]
    search_fields = ["name"]


admin.site.register(Category)
admin.site.register(Tag)
