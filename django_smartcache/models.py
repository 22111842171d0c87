"""A table-less model that carries the app's permission and its admin page."""

from __future__ import annotations

from django.db import models

PURGE_PERMISSION = "django_smartcache.purge_cache"


class CacheControl(models.Model):
    """Stands for the smart cache in the admin; has no table and no rows.

    It exists for ``django_smartcache.purge_cache`` (permissions belong to a
    model) and for the "Smart cache" entry on the admin index.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("purge_cache", "Can purge the smart cache")]
        verbose_name = "Smart cache"
        verbose_name_plural = "Smart cache"

    def __str__(self) -> str:
        return "Smart cache"


def can_purge(user: object) -> bool:
    """Whether ``user`` may see and use the purge controls (superusers may)."""
    has_perm = getattr(user, "has_perm", None)
    return bool(has_perm and has_perm(PURGE_PERMISSION))
