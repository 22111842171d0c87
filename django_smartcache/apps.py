"""App configuration: signals, statistics flushing, the admin purge action, system checks."""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.core import checks


class SmartcacheConfig(AppConfig):
    name = "django_smartcache"
    verbose_name = "Smart cache"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .core import stats
        from .invalidation import signals
        from .operations.checks import check_admin_actions, check_middleware, check_settings

        signals.connect()
        stats.connect()
        checks.register(check_settings, checks.Tags.caches)
        checks.register(check_middleware, checks.Tags.security)
        if apps.is_installed("django.contrib.admin"):
            from .operations.actions import attach_all

            attach_all()  # the purge action on the changelists registered so far
            checks.register(check_admin_actions, checks.Tags.admin)
