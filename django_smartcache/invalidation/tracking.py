"""Which models' writes invalidate the cache, and ``depend_on()``, which names them.

By default every model is tracked except those of ``SMARTCACHE["UNTRACKED_APPS"]``
(sessions, admin log, content types, migrations): a worker process that never
imports the decorated views must still invalidate what they cached. With
``TRACK_MODELS`` set to a list, only those models and the models named in a
dependency anywhere in this process are tracked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import models

from ..conf import get_settings, on_settings_change
from ..core.context import record
from ..core.tags import Dependency, dependency_models, read_tags

_named: set[str] = set()
_decided: dict[type, bool] = {}

OWN_APP = "django_smartcache"
_generation = [0]


def _label(model: type[models.Model]) -> str:
    return model._meta.concrete_model._meta.label_lower


def track(found: Iterable[type[models.Model]]) -> None:
    """Track models named in a dependency."""
    for model in found:
        label = _label(model)
        if label not in _named:
            _named.add(label)
            _decided.clear()
            _generation[0] += 1


def is_tracked(model: type[models.Model]) -> bool:
    """Whether writes to ``model`` invalidate cached entries."""
    decided = _decided.get(model)
    if decided is None:
        decided = _decide(model)
        _decided[model] = decided
    return decided


def depend_on(*deps: Dependency) -> None:
    """Declare that whatever is being cached right now depends on ``deps``.

    Accepts model instances (row-level), model classes, ``"app_label.ModelName"``
    strings and custom tag strings. Outside a cached computation it only checks
    its arguments. Raises ``TypeError`` for anything else.
    """
    tags = read_tags(deps)
    track(dependency_models(deps))
    record(tags)


def _decide(model: type[models.Model]) -> bool:
    conf = get_settings()
    meta = model._meta.concrete_model._meta
    if meta.app_label == OWN_APP:
        return False
    if _label(model) in _named:
        return True
    if conf.TRACK_MODELS == "__all__":
        return meta.app_label not in conf.UNTRACKED_APPS
    return _label(model) in {name.lower() for name in conf.TRACK_MODELS}


def generation() -> int:
    """A number that changes whenever a decision of ``is_tracked`` may have changed."""
    return _generation[0]


class Plans:
    """What ``build(sql, vendor)`` worked out for each statement text, kept while tracking
    decisions (and settings) stay the same, and at most ``limit`` of them."""

    def __init__(self, build: Callable[[str, str | None], Any], limit: int = 5000) -> None:
        self.build, self.limit = build, limit
        self._plans: dict[tuple[str, str | None], Any] = {}
        self._generation = -1

    def get(self, sql: str, vendor: str | None) -> Any:
        if self._generation != _generation[0]:
            self._plans.clear()
            self._generation = _generation[0]
        plan = self._plans.get((sql, vendor))
        if plan is None:
            if len(self._plans) >= self.limit:
                self._plans.clear()
            plan = self._plans[(sql, vendor)] = self.build(sql, vendor)
        return plan


@on_settings_change
def reset() -> None:
    """Forget decisions (settings changed)."""
    _decided.clear()
    _generation[0] += 1
