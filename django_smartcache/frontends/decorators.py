"""``cache_page``: Django's decorator, with dependencies and self-validating entries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from inspect import iscoroutinefunction
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.core import checks
from django.utils.decorators import markcoroutinefunction

from ..core.tags import Dependency, check_dependency_list, check_timeout
from .pages import PageCache
from .registry import check_installed

# ready() does not run when the app is not installed: say so at check time.
checks.register(check_installed)


def cache_page(
    timeout: float | None,
    *,
    depends_on: Sequence[Dependency] = (),
    cache: str | None = None,
    key_prefix: str | None = None,
    query_params: Sequence[str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Cache a view's GET/HEAD responses for ``timeout`` seconds, or until a dependency changes.

    Same shape as ``django.views.decorators.cache.cache_page``; ``timeout=None``
    means ``SMARTCACHE["TIMEOUT"]``. ``depends_on`` lists model classes,
    ``"app_label.ModelName"`` strings and custom tags; rows the view reads can be
    added at run time with ``depend_on(instance)``. ``cache`` names the cache alias
    (default ``SMARTCACHE["CACHE_ALIAS"]``); ``key_prefix`` separates entries of
    views that share URLs. ``query_params`` names the query parameters that
    matter (others, such as tracking parameters, share one entry); default: all.
    """
    if isinstance(query_params, str):
        raise TypeError("query_params takes a list of parameter names, not a string.")
    if callable(timeout) and not isinstance(timeout, (int, float)):
        raise TypeError("cache_page() takes the timeout first: use @cache_page(60 * 15).")
    check_timeout(timeout, "cache_page()")
    check_dependency_list(depends_on, "cache_page()")
    if query_params is not None and not all(isinstance(p, str) for p in query_params):
        raise TypeError("query_params takes a list of parameter names (strings).")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(view):
            raise TypeError(f"cache_page(...) decorates a view function, not {view!r}.")
        if iscoroutinefunction(view):
            page = PageCache(
                async_to_sync(view), timeout, depends_on, cache, key_prefix, query_params
            )

            @wraps(view)
            async def async_wrapper(request, *args, **kwargs):
                return await sync_to_async(page.serve)(request, args, kwargs)

            async_wrapper.smartcache = page  # type: ignore[attr-defined]
            page.entry_point = markcoroutinefunction(async_wrapper)
            return page.entry_point

        page = PageCache(view, timeout, depends_on, cache, key_prefix, query_params)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return page.serve(request, args, kwargs)

        wrapper.smartcache = page  # type: ignore[attr-defined]
        page.entry_point = wrapper
        return wrapper

    return decorator
