"""Template tags that query the database (tests/test_capture.py)."""

from django import template

from tests.testapp.models import Category, Tag

register = template.Library()


@register.simple_tag
def tag_count() -> int:
    return Tag.objects.count()


@register.simple_tag
def category_names() -> str:
    return ", ".join(Category.objects.values_list("name", flat=True))
