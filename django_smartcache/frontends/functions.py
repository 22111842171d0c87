"""``cached``: cache-aside for functions (queries, API payloads) on the versioned engine."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import pickle
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core import checks
from django.db import models
from django.http import HttpRequest

from ..conf import get_settings
from ..core import privacy, stats
from ..core.breaker import breaker
from ..core.engine import served_as
from ..core.tags import (
    GLOBAL,
    Dependency,
    check_dependency_list,
    check_timeout,
    custom_tag,
    dependency_models,
    read_tags,
)
from ..invalidation.bumps import bump, use_alias
from ..invalidation.recovery import guarded_lookup
from ..invalidation.tracking import track
from ..stores.factory import get_store
from . import csrf, registry
from .registry import check_installed

# ready() does not run when the app is not installed: say so at check time.
checks.register(check_installed)

T = TypeVar("T")

# ``cached(write_through=True)`` functions: (no-argument refresh, their tags, their own tag).
write_through_functions: list[tuple[Callable[[], Any], Callable[[], list[str]], str]] = []


def register_function(
    refresh: Callable[[], Any], tags: Callable[[], list[str]], own_tag: str
) -> None:
    """Recompute ``refresh`` whenever one of its dependency tags is bumped (``writethrough``)."""
    write_through_functions.append((refresh, tags, own_tag))


def _normalize(value: Any) -> Any:
    """A stable, picklable stand-in for one argument (rows by label and pk)."""
    if isinstance(value, models.QuerySet):
        raise TypeError(
            "A QuerySet cannot be part of a cache key; evaluate it first, e.g. list(queryset)."
        )
    if isinstance(value, models.Model):
        return ("<row>", value._meta.label_lower, value.pk)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_normalize(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("<set>", tuple(sorted((_normalize(v) for v in value), key=repr)))
    if isinstance(value, dict):
        items = sorted(((repr(k), _normalize(v)) for k, v in value.items()), key=lambda i: i[0])
        return ("<dict>", tuple(items))
    return value


def args_digest(args: tuple, kwargs: dict) -> str:
    """Hash of the arguments; ``TypeError`` when one cannot be part of a key."""
    normalized = (_normalize(args), _normalize(kwargs))
    try:
        data = pickle.dumps(normalized, protocol=4)
    except Exception as exc:
        raise TypeError(
            f"Cannot build a cache key from the arguments {args!r} {kwargs!r}: {exc}. "
            "Pass picklable arguments, or give cached() a key= function."
        ) from exc
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def cache_aside(
    alias: str | None,
    key: str,
    tags: Sequence[str],
    compute: Callable[[], T],
    timeout: float | None,
    *,
    wait: bool = True,
    name: str | None = None,
    request: Any = None,
    keyed_on: frozenset[str] | set[str] = frozenset(),
    suspects: Sequence[str] = (),
) -> T:
    """Return the valid entry under ``key`` or compute, stamp and store it.

    Cache errors never propagate: the value is computed uncached and the
    breaker backs off. Results that cannot be pickled raise ``TypeError``.
    With ``name``, hits, misses and bypasses are counted under it (``stats``).
    A result whose computation read the visitor (of ``request``, or of a request
    already in play) is not stored, unless ``key`` names that very part of the
    visitor (``keyed_on``: the user, passed as an argument).
    """
    conf = get_settings()
    alias = alias or conf.CACHE_ALIAS

    def note(event: str) -> None:
        if name:
            stats.count(alias, registry.FUNCTION, name, event)

    got = guarded_lookup(alias, key, tags, wait=wait) if conf.ENABLED else None
    if got is None:
        note("BYPASS")
        return compute()
    found, fill = got
    served = served_as(found, fill)
    if served is not None:
        note(served)
        return found.value
    if fill is None:
        note("BYPASS")
        return compute()
    if name:
        stats.invalidated(alias, registry.FUNCTION, name, fill.changed)
    try:
        value = fill.run(compute, request)
        if isinstance(value, models.QuerySet):
            raise TypeError(
                f"{key}: a QuerySet cannot be cached; return list(queryset) or a value instead."
            )
    except BaseException:
        _quietly(fill.release)
        raise
    note("MISS")
    if name:
        stats.discovered(alias, registry.FUNCTION, name, fill.found_at_run_time, fill.captured)
    private = fill.reads - keyed_on
    if not private and _holds_a_token(value, request, suspects):
        private = {privacy.CSRF}
    if private:
        # Computed for this visitor only; a pass marker spares the next callers the lock.
        reason = "read the visitor's " + ", ".join(sorted(private))
        try:
            fill.mark("x", reason, conf.PASS_TTL)
        except Exception as exc:
            breaker(alias).failed(exc, "storing")
        return value
    try:
        fill.save(key, value, conf.TIMEOUT if timeout is None else timeout)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        _quietly(fill.release)
        raise TypeError(f"{key}: the result {value!r} cannot be pickled: {exc}") from exc
    except Exception as exc:
        breaker(alias).failed(exc, "storing")
    return value


def _holds_a_token(value: Any, request: Any, suspects: Sequence[str]) -> bool:
    """Whether a result carries a CSRF token: one of the visitor's secret, or one that
    was handed in as an argument (a key that ignores it would share it)."""
    secret = csrf.secret_of(request)
    if secret is None and not suspects:
        return False
    try:
        data = pickle.dumps(value, protocol=4)
    except Exception:  # not picklable: saving will say so
        return False
    if secret is not None and csrf.exposes(data, [secret]):
        return True
    return any(s.encode() in data for s in suspects)


def _request_among(args: tuple, kwargs: dict) -> HttpRequest | None:
    """A request passed to a cached function (Django's, or the one a DRF request wraps)."""
    for value in (*args, *kwargs.values()):
        found = privacy.request_of(value)
        if found is not None:
            return found
    return None


def _quietly(action: Callable[[], Any]) -> None:
    with contextlib.suppress(Exception):  # the lock expires by itself
        action()


def cached(
    timeout: float | None = None,
    *,
    depends_on: Sequence[Dependency] = (),
    key: Callable[..., str] | None = None,
    cache: str | None = None,
    write_through: bool = False,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Cache a function's results per argument set until a dependency changes.

    Arguments form the key (model instances by label and pk); ``key`` replaces
    that with your own ``key(*args, **kwargs) -> str``. Results must be
    picklable. The decorated function gains ``invalidate(*args, **kwargs)``:
    with arguments it drops that result, without any it drops all results.
    ``write_through=True`` recomputes the no-argument result right after a
    committed change to a dependency, so the next call is a hit.
    """

    if callable(timeout):
        raise TypeError("cached() takes the timeout first: use @cached(300), or @cached().")
    check_timeout(timeout, "cached()")
    check_dependency_list(depends_on, "cached()")
    if key is not None and not callable(key):
        raise TypeError(f"cached(key=...) takes a function of the arguments, not {key!r}.")

    def decorator(fn: Callable[..., T]) -> Callable[..., T]:
        if not callable(fn):
            raise TypeError(f"cached(...) decorates a function, not {fn!r}.")
        if inspect.iscoroutinefunction(fn):
            raise TypeError(
                "cached() does not support async functions yet (docs: howto/apis.md): "
                "cache a sync function and await it through asgiref.sync.sync_to_async."
            )
        name = f"{fn.__module__}.{fn.__qualname__}"
        if write_through and any(
            p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            for p in inspect.signature(fn).parameters.values()
        ):
            raise TypeError(
                f"cached(write_through=True) recomputes {name}() with no arguments, "
                "but it requires some."
            )
        read_tags(depends_on)  # TypeError for a bad dependency, at import time
        use_alias(cache)
        registry.declare(registry.FUNCTION, name, cache, depends_on)
        own_tag = custom_tag(f"fn:{name}")
        resolved: list[str] = []

        def tags() -> list[str]:
            if not resolved:
                track(dependency_models(depends_on))
                resolved.extend(sorted({GLOBAL, own_tag, *read_tags(depends_on)}))
            return resolved

        def key_for(args: tuple, kwargs: dict) -> str:
            part = key(*args, **kwargs) if key else args_digest(args, kwargs)
            return f"fn:{name}:{part}"

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            request = _request_among(args, kwargs) or privacy.current_request()
            keyed_on: frozenset[str] = frozenset()
            values = (*args, *kwargs.values())
            if key is None and any(privacy.is_users(value, request) for value in values):
                # The visitor's own user object is an argument, so part of the default
                # key (by label and pk): one entry per user.
                keyed_on = frozenset({privacy.USER})
            entry_key = key_for(args, kwargs)
            # Arguments that are the visitor's user or session record their use.
            watched = [privacy.watch_value(a, request) for a in args]
            watched_kw = {k: privacy.watch_value(v, request) for k, v in kwargs.items()}
            return cache_aside(
                cache,
                entry_key,
                tags(),
                lambda: fn(*watched, **watched_kw),
                timeout,
                name=name,
                request=request,
                keyed_on=keyed_on,
                suspects=[a for a in values if isinstance(a, str) and csrf.looks_like_a_token(a)],
            )

        def invalidate(*args: Any, **kwargs: Any) -> None:
            if args or kwargs:
                get_store(cache).delete(key_for(args, kwargs))
            else:
                bump([own_tag])

        def refresh() -> None:
            """Recompute the no-argument result now (write-through)."""
            cache_aside(cache, key_for((), {}), tags(), fn, timeout, wait=False)

        wrapper.invalidate = invalidate  # type: ignore[attr-defined]
        wrapper.refresh = refresh  # type: ignore[attr-defined]
        if write_through:
            register_function(refresh, tags, own_tag)
        return wrapper

    return decorator
