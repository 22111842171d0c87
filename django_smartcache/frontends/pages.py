"""Serve one view through the cache: the work behind ``cache_page``."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers

from ..conf import get_settings
from ..core import privacy, stats
from ..core.breaker import breaker
from ..core.engine import Fill, served_as
from ..core.tags import GLOBAL, Dependency, dependency_models, read_tags, url_tag
from ..invalidation.bumps import use_alias
from ..invalidation.recovery import guarded_lookup
from ..invalidation.tracking import track
from ..stores.base import VARY
from . import csrf, http, registry, replay

logger = logging.getLogger("django_smartcache")

HIT_, MISS_, STALE_, BYPASS_ = "HIT", "MISS", "STALE", "BYPASS"


class PageCache:
    """Caching state of one decorated view."""

    def __init__(
        self,
        view: Callable[..., HttpResponseBase],
        timeout: float | None,
        depends_on: Sequence[Dependency],
        alias: str | None,
        key_prefix: str | None,
        query_params: Sequence[str] | None = None,
    ) -> None:
        self.view = view
        self.query_params = None if query_params is None else frozenset(query_params)
        self.timeout = timeout
        self.depends_on = tuple(depends_on)
        self.alias = alias
        self.key_prefix = key_prefix or ""
        self._tags: list[str] | None = None
        self._deps_id = ""
        read_tags(self.depends_on)  # TypeError for a bad dependency, at import time
        use_alias(alias)
        self.name = registry.name_of(view)
        self.entry_point: Callable[..., Any] | None = None  # what cache_page returned
        registry.declare(registry.VIEW, self.name, alias, self.depends_on)

    def tags(self) -> list[str]:
        """Static tags, resolved on first use (app registry ready by then)."""
        if self._tags is None:
            tags = sorted({GLOBAL, *read_tags(self.depends_on)})
            track(dependency_models(self.depends_on))
            self._deps_id = hashlib.md5(" ".join(tags).encode(), usedforsecurity=False).hexdigest()[
                :8
            ]
            self._tags = tags
        return self._tags

    def serve(self, request: HttpRequest, args: tuple, kwargs: dict) -> HttpResponseBase:
        conf = get_settings()
        if not conf.ENABLED or request.method not in ("GET", "HEAD"):
            return self._bypass(request, args, kwargs, conf.HEADER)
        # What is read outside a computation from here on is this app's own work (an
        # uncached view, after a bypass, is the view's again).
        outside = privacy.outside(request)
        if outside is not None:
            outside.closed = True
        visitor = http.Visitor(request, conf.CACHE_AUTHENTICATED)
        alias = self.alias or conf.CACHE_ALIAS
        if visitor.part is None or visitor.read_before:
            visitor.finish()
            if outside is not None:
                outside.closed = False
            return self._bypass(request, args, kwargs, conf.HEADER)
        # The path's tag makes every variant of this URL purgeable at once (invalidate_url).
        tags = [*self.tags(), url_tag(request.path)]
        base = key = http.page_key(
            request,
            http.visitor_part(visitor.part, request),
            self.key_prefix,
            self._deps_id,
            self.query_params,
        )
        got = guarded_lookup(alias, key, tags)
        if got is not None and got[0].state == VARY:
            key = http.variant_key(request, base, got[0].value)
            got = guarded_lookup(alias, key, tags)
        if got is None:
            visitor.finish()
            return self._bypass(request, args, kwargs, conf.HEADER)
        found, fill = got
        served = served_as(found, fill)
        if served is not None:
            visitor.finish()
            if served == HIT_ and visitor.part == "" and key is base and self._resolved(request):
                # LocalHitMiddleware may answer this same request again from memory.
                request.__dict__[replay.MARK] = (alias, key, tags, found.value, self.name)
            return self._label(http.thaw(found.value, request), served, conf.HEADER)
        if fill is None:  # a pass marker: not ours to fill
            visitor.finish()
            return self._bypass(request, args, kwargs, conf.HEADER)
        return self._fill(request, args, kwargs, visitor, fill, base, key)

    def _resolved(self, request: HttpRequest) -> bool:
        """Whether this page is the view the URL resolved to, not one called by another
        view (whose own reads would not be in the page's tags)."""
        func = getattr(getattr(request, "resolver_match", None), "func", None)
        # The very function cache_page returned: functools.wraps copies ``smartcache`` onto
        # a decorator around it (one that reads a row first, say).
        return func is not None and func is self.entry_point

    def _fill(self, request, args, kwargs, visitor, fill: Fill, base: str, key: str):
        stats.invalidated(fill.store.alias, registry.VIEW, self.name, fill.changed)
        try:
            return self._compute(request, args, kwargs, visitor, fill, base, key)
        finally:
            # Every way out frees the lock (a no-op once stored or marked), so a view
            # that failed never leaves its URL waiting on it.
            self._safely(fill.release, fill)

    def _compute(self, request, args, kwargs, visitor, fill: Fill, base: str, key: str):
        conf = get_settings()
        secret_before = csrf.secret_of(request)
        try:
            try:
                response = fill.run(lambda: _rendered(self.view(request, *args, **kwargs)), request)
            finally:
                visitor.finish()
        except Exception as exc:
            if fill.stale is not None and conf.STALE_IF_ERROR:
                return self._stale_if_error(request, fill, exc)
            raise
        stats.discovered(
            fill.store.alias, registry.VIEW, self.name, fill.found_at_run_time, fill.captured
        )
        if response.status_code >= 500 and fill.stale is not None and conf.STALE_IF_ERROR:
            return self._stale_if_error(request, fill, f"status {response.status_code}")
        if http.authorization(request) and "public" not in http.cache_directives(response):
            patch_vary_headers(response, ("Authorization",))  # as Django's cache_page does
        if request.method == "HEAD":  # a HEAD body may be cut short; never store it
            return self._label(response, MISS_, conf.HEADER)
        reads = fill.reads
        refusal = http.refusal(request, response, reads, conf.CACHEABLE_STATUS)
        if refusal is None:
            content, tokens, refusal = _punch_csrf(request, response, reads, secret_before)
        if refusal is not None or self.timeout == 0:
            logger.debug("Not caching %s: %s", request.path, refusal or "timeout 0")
            self._safely(lambda: fill.mark("x", refusal or "timeout 0", conf.PASS_TTL), fill)
            return self._label(response, MISS_, conf.HEADER)
        timeout = conf.TIMEOUT if self.timeout is None else self.timeout
        frozen = http.freeze(response, content, tokens)
        vary = http.vary_headers(response)

        def store() -> None:
            if not vary:
                fill.save(key, frozen, timeout)
                return
            variant = http.variant_key(request, base, vary)
            if variant != key:  # the manifest at ``base`` is missing or out of date
                base_lock = fill.lock if fill.key == base else None
                fill.store.mark(base, "v", "\n".join(vary), timeout, base_lock)
                if base_lock:
                    fill.lock = None
            fill.save(variant, frozen, timeout)

        self._safely(store, fill)
        return self._label(response, MISS_, conf.HEADER)

    def _stale_if_error(self, request: HttpRequest, fill: Fill, error: Any) -> HttpResponseBase:
        """Serve the aged-out copy instead of an error (``STALE_IF_ERROR``)."""
        logger.error(
            "View for %s failed (%s); serving the stale copy.",
            request.path,
            error,
            exc_info=isinstance(error, BaseException),
        )
        return self._label(http.thaw(fill.stale, request), STALE_, get_settings().HEADER)

    def _safely(self, action: Callable[[], Any], fill: Fill) -> None:
        try:
            action()
        except Exception as exc:
            breaker(fill.store.alias).failed(exc, "storing")

    def _bypass(self, request, args, kwargs, header: str | None) -> HttpResponseBase:
        return self._label(self.view(request, *args, **kwargs), BYPASS_, header)

    def _label(
        self, response: HttpResponseBase, status: str, header: str | None
    ) -> HttpResponseBase:
        stats.count(self.alias or get_settings().CACHE_ALIAS, registry.VIEW, self.name, status)
        if header:
            response[header] = status
        return response


def _rendered(response: HttpResponseBase) -> HttpResponseBase:
    """Render an unrendered ``TemplateResponse`` (class-based views) right away.

    Django's ``cache_page`` stores such a response from a post-render callback,
    after the handler rendered it. Rendering it here, inside the computation,
    is what lets the fragments, queries and visitor reads of its template count
    as part of this page; template-response middleware then sees a rendered
    response (docs: explanation/differences.md).
    """
    if getattr(response, "is_rendered", True) is False and callable(response.render):
        response.render()
    return response


def _punch_csrf(
    request: HttpRequest, response: HttpResponseBase, reads: frozenset[str], before: str | None
) -> tuple[bytes, bool, str | None]:
    """The body to store with the visitor's CSRF tokens punched out, whether hits must
    fill tokens in, and why not to store at all (a token that cannot be replaced).

    The secrets are the one the request came with and the one it has now (a view may
    have rotated it). Whatever cannot be checked is refused: a body that held the
    placeholder already, a token in a header, an encoded body or an encoding that is
    not ASCII-compatible after a token was asked for, and, when a token was asked
    for, any 64 CSRF characters in a row left after punching (a token of a secret
    that is gone, or transformed).
    """
    content = response.content
    if csrf.holds_placeholder(content):
        return content, False, "holds the CSRF placeholder already"
    if csrf.rotated(before, request):
        return content, False, "rotates the visitor's CSRF secret"
    asked = privacy.CSRF in reads
    secrets = [s for s in (before, csrf.secret_of(request)) if s]
    if not secrets:  # no token was made or sent: there is none to find
        return content, False, None
    if any(csrf.exposes(value, secrets) for _, value in response.items()):
        return content, False, "holds the visitor's CSRF token in a header"
    if not _ascii_compatible(response.charset):
        text = content.decode(response.charset, errors="replace")
        if asked or csrf.exposes(text, secrets):
            return content, False, f"may hold the visitor's CSRF token ({response.charset})"
        return content, False, None
    if asked and response.has_header("Content-Encoding"):
        return content, False, "may hold the visitor's CSRF token in encoded content"
    content, found = csrf.punch(content, secrets)
    if csrf.exposes(content, secrets) or (asked and csrf.looks_like_a_token(content)):
        return content, False, "holds a CSRF token where it cannot be replaced"
    # A token was asked for (even if not shown: ensure_csrf_cookie): each hit asks again,
    # so the CSRF cookie is set exactly when the view would have set it.
    return content, bool(found) or asked, None


def _ascii_compatible(charset: str) -> bool:
    try:
        return "<A0\0>".encode(charset) == b"<A0\0>"
    except LookupError:
        return False
