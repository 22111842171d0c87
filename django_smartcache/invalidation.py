"""Make entries stale: ``invalidate()``, ``invalidate_all()`` and bumps after commit.

A bump gives each tag a new random token; entries stamped with the old token
stop matching. It costs one script call whatever the number of entries. A bump
that cannot reach the cache is kept and retried; until it lands, this process
serves nothing from that cache (see ``pending_ok``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import partial

from django.db import transaction

from .breaker import breaker
from .conf import get_settings
from .stores import get_store
from .tags import GLOBAL, Dependency, bump_tags, dependency_models
from .tracking import track

_extra_aliases: set[str] = set()
_pending: dict[str, set[str]] = {}
_lock = threading.Lock()


def use_alias(alias: str | None) -> None:
    """Remember a cache alias that entries are stored in (bumps reach it too)."""
    if alias:
        _extra_aliases.add(alias)


def _aliases() -> list[str]:
    default = get_settings().CACHE_ALIAS
    return [default, *sorted(_extra_aliases - {default})]


def bump(tags: Iterable[str]) -> None:
    """Bump ``tags`` now in every cache this process stores entries in."""
    tags = list(tags)
    landed = [_bump_alias(alias, tags) for alias in _aliases()]
    if tags and all(landed):
        from .writethrough import refresh

        refresh(tags)


def _bump_alias(alias: str, tags: Iterable[str]) -> bool:
    with _lock:
        todo = _pending.pop(alias, set())
    todo.update(tags)
    if not todo:
        return True
    try:
        get_store(alias).bump(sorted(todo))
    except Exception as exc:
        with _lock:
            _pending.setdefault(alias, set()).update(todo)
        breaker(alias).failed(exc, "invalidating")
        return False
    breaker(alias).succeeded()
    return True


def pending_ok(alias: str) -> bool:
    """True when no bump is waiting for ``alias`` (retrying any that are)."""
    if alias not in _pending:
        return True
    _bump_alias(alias, ())
    return alias not in _pending


def bump_on_commit(tags: list[str], using: str | None = None) -> None:
    """Bump ``tags`` after the current transaction on ``using`` commits (now if none)."""
    if tags:
        transaction.on_commit(partial(bump, tags), using=using)


def invalidate(*deps: Dependency) -> None:
    """Make every entry depending on ``deps`` stale, now.

    A model class reaches entries on the model and on any of its rows; an
    instance reaches entries on that row and on its model; a string is a custom
    tag or ``"app_label.ModelName"``. Inside a transaction, prefer
    ``transaction.on_commit(lambda: invalidate(obj))``.
    """
    tags = bump_tags(deps)
    track(dependency_models(deps))
    bump(tags)


def invalidate_all() -> None:
    """Make every entry this app stored stale (one global token)."""
    bump([GLOBAL])
