"""The ``SMARTCACHE`` setting: defaults, validation and lazy access.

``get_settings()`` merges ``settings.SMARTCACHE`` over the defaults once and
caches the result; Django's ``setting_changed`` signal (sent by
``override_settings``) drops the cached copy, so tests and reloads see changes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    "CACHE_ALIAS": "default",
    "TIMEOUT": 300,
    "JITTER": 0.1,
    "KEY_PREFIX": "sc",
    "HEADER": "X-Smartcache",
    "CACHE_AUTHENTICATED": False,
    "ENABLED": True,
    "CACHEABLE_STATUS": (200,),
    "LOCK_TIMEOUT": 30.0,
    "LOCK_WAIT": 5.0,
    "LOCK_POLL": 0.02,
    "PASS_TTL": 5.0,
    "AUTO_DEPENDENCIES": True,
    "AUTO_DEPENDENCIES_EXCLUDE": (),
    "TRACK_MODELS": "__all__",
    "UNTRACKED_APPS": ("admin", "contenttypes", "sessions", "migrations"),
    "ERROR_BACKOFF": 1.0,
    "ERROR_BACKOFF_MAX": 30.0,
    "WRITE_THROUGH": (),
    "REPLICA_DELAY": 0.0,
    "WAIT_REPLICAS": 0,
    "WAIT_TIMEOUT": 0.1,
    "STALE_TTL": 60.0,
    "STALE_IF_ERROR": True,
    "STALE_ON_INVALIDATION": False,
    "XFETCH_BETA": 1.0,
    "OUTBOX": True,
    "OUTBOX_INTERVAL": 5.0,
    "LOCAL": None,
}

_number = (int, float)


def _is_number(value: Any) -> bool:
    return isinstance(value, _number) and not isinstance(value, bool)


# name -> (predicate, what the value must be)
_RULES: dict[str, tuple[Any, str]] = {
    "CACHE_ALIAS": (lambda v: isinstance(v, str) and v, "a non-empty string naming a cache"),
    "TIMEOUT": (lambda v: v is None or (_is_number(v) and v >= 0), "a number of seconds >= 0"),
    "JITTER": (lambda v: _is_number(v) and 0 <= v < 1, "a fraction from 0 to below 1"),
    "KEY_PREFIX": (
        lambda v: isinstance(v, str) and v and not any(c.isspace() for c in v),
        "a non-empty string without spaces",
    ),
    "HEADER": (lambda v: v is None or (isinstance(v, str) and v), "a header name or None"),
    "CACHE_AUTHENTICATED": (lambda v: isinstance(v, bool), "True or False"),
    "ENABLED": (lambda v: isinstance(v, bool), "True or False"),
    "CACHEABLE_STATUS": (
        lambda v: (
            isinstance(v, (list, tuple, set, frozenset))
            and all(isinstance(s, int) and 100 <= s < 600 for s in v)
        ),
        "a list of HTTP status codes",
    ),
    "LOCK_TIMEOUT": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "LOCK_WAIT": (lambda v: _is_number(v) and v >= 0, "a number of seconds >= 0"),
    "LOCK_POLL": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "PASS_TTL": (lambda v: _is_number(v) and v >= 0, "a number of seconds >= 0"),
    "AUTO_DEPENDENCIES": (lambda v: isinstance(v, bool), "True or False"),
    "AUTO_DEPENDENCIES_EXCLUDE": (
        lambda v: isinstance(v, (list, tuple, set)) and all(isinstance(m, str) for m in v),
        'a list of app labels and "app_label.ModelName" strings',
    ),
    "TRACK_MODELS": (
        lambda v: (
            v == "__all__"
            or (isinstance(v, (list, tuple, set)) and all(isinstance(m, str) for m in v))
        ),
        '"__all__" or a list of "app_label.ModelName" strings',
    ),
    "UNTRACKED_APPS": (
        lambda v: isinstance(v, (list, tuple, set)) and all(isinstance(a, str) for a in v),
        "a list of app labels",
    ),
    "WRITE_THROUGH": (
        lambda v: isinstance(v, (list, tuple, set)) and all(isinstance(m, str) for m in v),
        'a list of "app_label.ModelName" strings',
    ),
    "REPLICA_DELAY": (lambda v: _is_number(v) and v >= 0, "a number of seconds >= 0"),
    "WAIT_REPLICAS": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "a number of replicas >= 0 (0: do not wait)",
    ),
    "WAIT_TIMEOUT": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "STALE_TTL": (lambda v: _is_number(v) and v >= 0, "a number of seconds >= 0"),
    "STALE_IF_ERROR": (lambda v: isinstance(v, bool), "True or False"),
    "STALE_ON_INVALIDATION": (lambda v: isinstance(v, bool), "True or False"),
    "XFETCH_BETA": (lambda v: _is_number(v) and v >= 0, "a number >= 0 (0 disables it)"),
    "OUTBOX": (lambda v: isinstance(v, bool), "True or False"),
    "OUTBOX_INTERVAL": (lambda v: _is_number(v) and v > 0, "a number of seconds > 0"),
    "ERROR_BACKOFF": (lambda v: _is_number(v) and v >= 0, "a number of seconds >= 0"),
    "LOCAL": (
        lambda v: v is None or (isinstance(v, dict) and _local_ok(v)),
        'None (off) or a dict with "MAX_BYTES" (bytes > 0), "MAX_AGE" (seconds > 0) and '
        '"REPLAY_MAX_BYTES" (bytes >= 0; 0: LocalHitMiddleware answers nothing), all optional',
    ),
    "ERROR_BACKOFF_MAX": (lambda v: _is_number(v) and v >= 0, "a number of seconds >= 0"),
}


def _local_ok(options: dict) -> bool:
    return set(options) <= {"MAX_BYTES", "MAX_AGE", "REPLAY_MAX_BYTES"} and all(
        _is_number(v) and (v > 0 or (name == "REPLAY_MAX_BYTES" and v == 0))
        for name, v in options.items()
    )


def problems(raw: Any) -> list[str]:
    """Describe everything wrong with a ``SMARTCACHE`` value (empty when valid)."""
    if not isinstance(raw, dict):
        return [f"SMARTCACHE must be a dict, not {type(raw).__name__}."]
    found = []
    for name in sorted(set(raw) - set(DEFAULTS)):
        found.append(
            f"SMARTCACHE[{name!r}] is not a known setting; known: {', '.join(sorted(DEFAULTS))}."
        )
    for name, value in raw.items():
        rule = _RULES.get(name)
        if rule and not rule[0](value):
            found.append(f"SMARTCACHE[{name!r}] must be {rule[1]}, not {value!r}.")
    return found


@dataclass(frozen=True, slots=True)
class SmartcacheSettings:
    """The merged, validated ``SMARTCACHE`` setting."""

    CACHE_ALIAS: str
    TIMEOUT: float | None
    JITTER: float
    KEY_PREFIX: str
    HEADER: str | None
    CACHE_AUTHENTICATED: bool
    ENABLED: bool
    CACHEABLE_STATUS: frozenset[int]
    LOCK_TIMEOUT: float
    LOCK_WAIT: float
    LOCK_POLL: float
    PASS_TTL: float
    AUTO_DEPENDENCIES: bool
    AUTO_DEPENDENCIES_EXCLUDE: frozenset[str]
    TRACK_MODELS: Any
    UNTRACKED_APPS: frozenset[str]
    ERROR_BACKOFF: float
    ERROR_BACKOFF_MAX: float
    WRITE_THROUGH: frozenset[str]
    REPLICA_DELAY: float
    WAIT_REPLICAS: int
    WAIT_TIMEOUT: float
    STALE_TTL: float
    STALE_IF_ERROR: bool
    STALE_ON_INVALIDATION: bool
    XFETCH_BETA: float
    OUTBOX: bool
    OUTBOX_INTERVAL: float
    LOCAL: dict[str, Any] | None


_current: SmartcacheSettings | None = None


def get_settings() -> SmartcacheSettings:
    """Return the current settings; raise ``ImproperlyConfigured`` when invalid."""
    global _current
    if _current is None:
        raw = getattr(settings, "SMARTCACHE", {})
        errors = problems(raw)
        if errors:
            raise ImproperlyConfigured(" ".join(errors))
        merged = {**DEFAULTS, **raw}
        merged["CACHEABLE_STATUS"] = frozenset(merged["CACHEABLE_STATUS"])
        merged["UNTRACKED_APPS"] = frozenset(merged["UNTRACKED_APPS"])
        merged["AUTO_DEPENDENCIES_EXCLUDE"] = frozenset(merged["AUTO_DEPENDENCIES_EXCLUDE"])
        merged["WRITE_THROUGH"] = frozenset(m.lower() for m in merged["WRITE_THROUGH"])
        _current = SmartcacheSettings(**merged)
    return _current


RESET_ON = ("SMARTCACHE", "CACHES")  # per-process state rebuilt when these change


def from_django_settings(fn: Any) -> Any:
    """Memoize ``fn()``, a value read from Django's settings on every request, until any
    setting changes (``override_settings``): ``settings.X`` costs a lazy-object lookup each
    time, and the hit path reads several."""
    cached = functools.cache(fn)

    def receiver_(**kwargs: Any) -> None:
        cached.cache_clear()

    setting_changed.connect(receiver_, weak=False, dispatch_uid=f"{fn.__module__}.{fn.__name__}")
    return cached


def on_settings_change(reset: Any) -> Any:
    """Connect ``reset()`` to run whenever ``SMARTCACHE`` or ``CACHES`` change
    (``override_settings`` in a user's tests): every module keeping per-process state
    (stores, breakers, the outbox's clock, tracking) registers its own reset here."""

    def receiver_(*, setting: str, **kwargs: Any) -> None:
        if setting in RESET_ON:
            reset()

    setting_changed.connect(receiver_, weak=False, dispatch_uid=f"{reset.__module__}.reset")
    return reset


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    global _current
    if setting in RESET_ON:
        _current = None
