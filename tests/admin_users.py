"""Admin users for the admin, browser and permission tests."""

from __future__ import annotations

from django.contrib.auth.models import Permission, User

PASSWORD = "correct horse"


def make_user(username: str, *, purge: bool, superuser: bool = False) -> User:
    """A staff user who can view and change testapp products (and purge, if ``purge``)."""
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    codenames = ["view_product", "change_product", "delete_product", "view_category", "view_tag"]
    perms = list(
        Permission.objects.filter(content_type__app_label="testapp", codename__in=codenames)
    )
    if purge:
        perms.append(
            Permission.objects.get(
                content_type__app_label="django_smartcache", codename="purge_cache"
            )
        )
    user.user_permissions.set(perms)
    return user
