"""App configuration: connect the model signals and register the system checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class SmartcacheConfig(AppConfig):
    name = "django_smartcache"
    verbose_name = "Smart cache"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals
        from .checks import check_settings

        signals.connect()
        checks.register(check_settings, checks.Tags.caches)
