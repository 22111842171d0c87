"""The app's models: the permission carrier (no table) and the invalidation outbox."""

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


class PendingInvalidation(models.Model):
    """The invalidation outbox: tags to bump, written in the transaction of the change.

    One row per transaction (per savepoint context) that wrote a tracked model,
    deleted once its bump has reached the cache; a row that stays (the cache was
    unreachable, or the process died right after commit) is bumped and deleted by
    whichever process flushes the outbox first (see ``django_smartcache.invalidation.outbox``).
    """

    tags = models.TextField(help_text="Space-separated tag names to bump.")
    created = models.DateTimeField()

    class Meta:
        default_permissions = ()
        verbose_name = "pending invalidation"

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S}: {self.tags}"


class WriterLease(models.Model):
    """A process's cover for its autocommit writes to this database (``leases``).

    Renewed every second by the process that holds it; a row not renewed for a few
    seconds (its process died) is reclaimed by a flush: every cached entry is made stale.
    """

    pid = models.IntegerField(help_text="The holder's process id (for diagnostics).")
    beat = models.DateTimeField(help_text="The last renewal, on the database's clock.")

    class Meta:
        default_permissions = ()
        verbose_name = "writer lease"

    def __str__(self) -> str:
        return f"process {self.pid}, renewed {self.beat:%Y-%m-%d %H:%M:%S}"
