"""System checks: a wrong ``SMARTCACHE`` or cache alias fails at start-up, by name."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from .conf import DEFAULTS, problems

_LOCAL_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache": (
        "it is local to one process: an invalidation in one process does not reach "
        "entries cached by the others, and there is no cross-process single flight"
    ),
    "django.core.cache.backends.dummy.DummyCache": "it stores nothing, so nothing is cached",
}


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Validate ``SMARTCACHE`` and the cache alias it names."""
    raw = getattr(settings, "SMARTCACHE", {})
    found: list[checks.CheckMessage] = [
        checks.Error(text, hint="See the settings table in the README.", id="smartcache.E001")
        for text in problems(raw)
    ]
    if found:
        return found
    alias = raw.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"])
    caches = getattr(settings, "CACHES", {})
    if alias not in caches:
        return [
            checks.Error(
                f"SMARTCACHE['CACHE_ALIAS'] is {alias!r}, which is not a key of CACHES.",
                hint=f"Use one of: {', '.join(sorted(caches)) or '(no caches configured)'}.",
                id="smartcache.E002",
            )
        ]
    backend = caches[alias].get("BACKEND", "")
    if backend in _LOCAL_BACKENDS:
        found.append(
            checks.Warning(
                f"SMARTCACHE['CACHE_ALIAS'] {alias!r} uses {backend}: {_LOCAL_BACKENDS[backend]}.",
                hint="Use django_redis.cache.RedisCache in any multi-process deployment.",
                id="smartcache.W001",
            )
        )
    return found
