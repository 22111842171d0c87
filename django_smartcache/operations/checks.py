"""System checks: a wrong ``SMARTCACHE`` or cache alias fails at start-up, by name.

``check_settings``, ``check_middleware`` and ``check_admin_actions`` are registered by the
app's ``ready()``. ``check_installed`` is the front ends' (``frontends.registry``): the
decorator modules register it when they are imported, because ``ready()`` never runs
when the app is missing from ``INSTALLED_APPS``.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks

from ..conf import DEFAULTS, problems
from ..frontends.registry import declared
from ..invalidation.tracking import OWN_APP, is_tracked

_LOCAL_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache": (
        "it is local to one process: an invalidation made by another process (another "
        "worker, a Celery task, a management command) never reaches the entries cached in "
        "this one, and there is no single flight across processes; fine for tests and "
        "one-process development"
    ),
    "django.core.cache.backends.dummy.DummyCache": "it stores nothing, so nothing is cached",
}
# Backends whose incr() is a read then a write: two processes bumping at once lose
# increments of the invalidation counter, which is what stops a fill computed before a
# bump from being stored as fresh.
_NON_ATOMIC_BACKENDS = (
    "django.core.cache.backends.db.DatabaseCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)

SETTINGS_HINT = "See the settings reference (docs/reference/settings.md)."


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Validate ``SMARTCACHE`` and the cache alias it names."""
    raw = getattr(settings, "SMARTCACHE", {})
    found: list[checks.CheckMessage] = [
        checks.Error(text, hint=SETTINGS_HINT, id="smartcache.E001") for text in problems(raw)
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
    found.extend(_decorator_aliases(caches))
    found.extend(_unsafe_backends(caches, alias))
    found.extend(_unknown_models(raw))
    backend = caches[alias].get("BACKEND", "")
    if backend in _LOCAL_BACKENDS:
        found.append(
            checks.Warning(
                f"SMARTCACHE['CACHE_ALIAS'] {alias!r} uses {backend}: {_LOCAL_BACKENDS[backend]}.",
                hint="Use django_redis.cache.RedisCache in any multi-process deployment.",
                id="smartcache.W001",
            )
        )
    if raw.get("LOCAL") is not None and not _local_tier_offered(caches[alias]):
        found.append(
            checks.Warning(
                f"SMARTCACHE['LOCAL'] is set, but cache {alias!r} is not a single Redis "
                "behind django-redis's DefaultClient (Sentinel, a cluster or another "
                "backend): the local tier stays off there.",
                hint="Use it with django_redis.cache.RedisCache on one Redis, or remove "
                "SMARTCACHE['LOCAL'].",
                id="smartcache.W005",
            )
        )
    return found


def _local_tier_offered(config: dict[str, Any]) -> bool:
    """The local tier needs client tracking on one Redis, through django-redis."""
    client = str((config.get("OPTIONS") or {}).get("CLIENT_CLASS", "")).rsplit(".", 1)[-1]
    return (
        config.get("BACKEND") == "django_redis.cache.RedisCache"
        and client in ("", "DefaultClient")
        and not _is_cluster(config)
    )


def _unknown_models(raw: dict[str, Any]) -> list[checks.CheckMessage]:
    """``TRACK_MODELS`` and ``WRITE_THROUGH`` entries must name installed models."""
    found = []
    for setting in ("TRACK_MODELS", "WRITE_THROUGH"):
        names = raw.get(setting, DEFAULTS[setting])
        if names == "__all__":
            continue
        for name in names:
            try:
                apps.get_model(name)
            except (LookupError, ValueError):
                found.append(
                    checks.Error(
                        f"SMARTCACHE[{setting!r}] names {name!r}, which is not an installed "
                        "model: writes to the model you meant would invalidate nothing.",
                        hint="Use 'app_label.ModelName' of an installed model.",
                        id="smartcache.E007",
                    )
                )
    for name in raw.get("AUTO_DEPENDENCIES_EXCLUDE", ()):
        if not _names_an_app_or_model(name):
            found.append(
                checks.Error(
                    f"SMARTCACHE['AUTO_DEPENDENCIES_EXCLUDE'] names {name!r}, which is neither "
                    "an installed app label nor an installed model: the reads you meant to "
                    "leave out are still captured.",
                    hint="Use an app label ('analytics') or 'app_label.ModelName'.",
                    id="smartcache.E009",
                )
            )
    return found


def _names_an_app_or_model(name: str) -> bool:
    label = name.lower()
    if "." not in label:
        return any(config.label.lower() == label for config in apps.get_app_configs())
    return any(model._meta.label_lower == label for model in apps.get_models())


def _unsafe_backends(caches: dict[str, Any], alias: str) -> list[checks.CheckMessage]:
    """Aliases entries are stored in whose backend cannot keep the guarantees."""
    used = {alias, *(item.alias for item in declared() if item.alias in caches)}
    found = []
    for name in sorted(used):
        config = caches[name]
        backend = config.get("BACKEND", "")
        if backend in _NON_ATOMIC_BACKENDS:
            found.append(
                checks.Error(
                    f"Cache {name!r} uses {backend}, whose incr() is not atomic: invalidations "
                    "from two processes at once lose increments of the invalidation counter, "
                    "and a page computed before a change could then be stored as fresh.",
                    hint="Use django_redis.cache.RedisCache (or Django's RedisCache or "
                    "Memcached) for the caches django_smartcache stores entries in.",
                    id="smartcache.E005",
                )
            )
        elif not _is_cluster_client(config) and _is_cluster(config):
            found.append(
                checks.Error(
                    f"Cache {name!r} points at a Redis Cluster through a client that is not "
                    "a cluster client: every read would fail with CROSSSLOT (or MOVED) and "
                    "the site would run uncached while looking healthy.",
                    hint="Use OPTIONS={'CLIENT_CLASS': "
                    "'django_smartcache.cluster.RedisClusterClient'} with "
                    "django_redis.cache.RedisCache, or BACKEND="
                    "'django_smartcache.cluster.RedisClusterCache' (docs/howto/redis.md, "
                    "'Redis Cluster').",
                    id="smartcache.E006",
                )
            )
        elif _is_cluster_client(config):
            from django.core.cache import caches

            from ..stores.cluster_store import layout_problem

            problem = layout_problem(caches[name].make_key, _prefix())
            if problem:
                found.append(checks.Error(problem, id="smartcache.E008"))
    return found


def _prefix() -> str:
    raw = getattr(settings, "SMARTCACHE", None) or {}
    prefix = raw.get("KEY_PREFIX", DEFAULTS["KEY_PREFIX"]) if isinstance(raw, dict) else ""
    return prefix if isinstance(prefix, str) else DEFAULTS["KEY_PREFIX"]


_CLUSTER_CLIENTS = (
    "django_smartcache.cluster.RedisClusterClient",
    "django_smartcache.cluster.RedisClusterCache",
)


def _is_cluster_client(config: dict[str, Any]) -> bool:
    """The cache is configured through one of our cluster clients (``cluster.py``)."""
    options = config.get("OPTIONS") or {}
    return (
        config.get("BACKEND") in _CLUSTER_CLIENTS
        or str(options.get("CLIENT_CLASS", "")) in _CLUSTER_CLIENTS
    )


def _is_cluster(config: dict[str, Any]) -> bool:
    """A cluster client class, or a server that says ``cluster_enabled:1`` (asked with a
    0.5 s timeout; an unreachable server is not judged here)."""
    options = config.get("OPTIONS") or {}
    client_class = str(options.get("CLIENT_CLASS", ""))
    if "cluster" in client_class.lower() or "cluster" in config.get("BACKEND", "").lower():
        return True
    if "Redis" not in config.get("BACKEND", "") or "sentinel" in client_class.lower():
        return False
    location = config.get("LOCATION")
    url = location[0] if isinstance(location, (list, tuple)) and location else location
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        return False
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.info("cluster").get("cluster_enabled"))
        finally:
            client.close()
    except Exception:
        return False


def _decorator_aliases(caches: dict[str, Any]) -> list[checks.CheckMessage]:
    """``cache=`` aliases of decorated views and functions that are not in ``CACHES``."""
    return [
        checks.Error(
            f"The cached {item.kind} {item.name} uses cache={item.alias!r}, "
            "which is not a key of CACHES.",
            hint=f"Use one of: {', '.join(sorted(caches)) or '(no caches configured)'}.",
            id="smartcache.E004",
        )
        for item in declared()
        if item.alias and item.alias not in caches
    ]


def check_admin_actions(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Tracked models registered in an admin site after the app was ready lack the action."""
    from django.contrib.admin.sites import all_sites

    from .actions import SmartcacheAdminMixin  # the admin is optional: imported when it is used

    if problems(getattr(settings, "SMARTCACHE", {})):
        return []  # smartcache.E001 says what is wrong; tracking cannot be decided
    missing = sorted(
        f"{model._meta.label} ({site.name})"
        for site in list(all_sites)
        for model, model_admin in site._registry.items()
        if model._meta.app_label != OWN_APP
        and is_tracked(model)
        and not isinstance(model_admin, SmartcacheAdminMixin)
    )
    if not missing:
        return []
    return [
        checks.Warning(
            "The 'Purge cache for selected …' action could not be added to the admin of: "
            f"{', '.join(missing)}; they were registered after django_smartcache was ready.",
            hint="List 'django_smartcache' after 'django.contrib.admin' in INSTALLED_APPS, "
            "or add django_smartcache.admin.SmartcacheAdminMixin to those ModelAdmins.",
            id="smartcache.W002",
        )
    ]


MIDDLEWARE_PATH = "django_smartcache.middleware.SmartcacheMiddleware"
_SETS_VISITOR_PARTS = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Without ``SmartcacheMiddleware`` after the middleware that set the visitor's parts,
    what other middleware read of the visitor before a cached view is not seen."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    hint = (
        f"Add '{MIDDLEWARE_PATH}' to MIDDLEWARE right after "
        "'django.contrib.messages.middleware.MessageMiddleware'."
    )
    if MIDDLEWARE_PATH not in middleware:
        return [
            checks.Warning(
                "SmartcacheMiddleware is not installed: reads of the session key, cookies or "
                "the user made by other middleware before a cached view are not seen, so data "
                "they hand on to the view (request.cart) could be cached for every visitor "
                "(only a session read shows, through the session's own flag).",
                hint=hint,
                id="smartcache.W003",
            )
        ]
    at = middleware.index(MIDDLEWARE_PATH)
    late = [name for name in _SETS_VISITOR_PARTS if name in middleware[at:]]
    if late:
        return [
            checks.Warning(
                f"SmartcacheMiddleware comes before {', '.join(late)}: the parts of the "
                "visitor those set up are not watched before the view.",
                hint=hint,
                id="smartcache.W004",
            )
        ]
    return []
