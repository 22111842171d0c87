"""What this process has declared as cached: views (``cache_page``) and functions (``cached``).

Filled at decoration time, read by the admin page and ``manage.py smartcache stats``
to show which cached views and functions depend on which models. In-process
only: it lists what this process has imported. ``check_installed`` is the system check
the decorator modules register: declaring needs the app installed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core import checks

from ..core.tags import Dependency, dependency_models

VIEW, FUNCTION = "view", "function"


@dataclass(frozen=True)
class Declared:
    """One cached view or function and the dependencies it declared."""

    kind: str
    name: str
    alias: str | None
    depends_on: tuple[Dependency, ...]

    def model_labels(self) -> list[str]:
        """Labels (``app_label.model``) of the declared models (app registry must be ready)."""
        models = dependency_models(self.depends_on)
        return sorted({model._meta.concrete_model._meta.label_lower for model in models})


_declared: dict[tuple[str, str], Declared] = {}
_lock = threading.Lock()


def name_of(func: Any) -> str:
    """``module.qualname`` of a view or function (async views: of the coroutine function)."""
    target = getattr(func, "awaitable", func)  # asgiref's AsyncToSync keeps the original
    module = getattr(target, "__module__", None) or "?"
    return f"{module}.{getattr(target, '__qualname__', type(target).__name__)}"


def declare(kind: str, name: str, alias: str | None, depends_on: Sequence[Dependency]) -> None:
    """Remember a decorated view or function (idempotent: re-declaring replaces)."""
    item = Declared(kind, name, alias, tuple(depends_on))
    if _declared.get((kind, name)) != item:
        with _lock:
            _declared[(kind, name)] = item


def declared() -> list[Declared]:
    """Every cached view and function this process declared, by kind and name."""
    with _lock:
        return sorted(_declared.values(), key=lambda d: (d.kind, d.name))


def check_installed(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The decorators are used: the app must be installed, or nothing is ever invalidated."""
    if apps.is_installed("django_smartcache"):
        return []
    return [
        checks.Error(
            "django_smartcache's decorators are used but 'django_smartcache' is not in "
            "INSTALLED_APPS: committed changes would not invalidate the cached entries.",
            hint="Add 'django_smartcache' to INSTALLED_APPS.",
            id="smartcache.E003",
        )
    ]
