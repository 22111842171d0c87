"""``LocalHitMiddleware``: answer a repeated request before the middleware below it runs.

A local-tier hit (``SMARTCACHE["LOCAL"]``) costs no round trip, but the request still
goes through every middleware (sessions, CSRF, authentication, messages, URL
resolution): most of what a hot hit costs. Placed near the top of ``MIDDLEWARE``, this
middleware remembers what the stack below it answered, and answers the same again
without running it, when all of this holds:

- nobody is identified: a ``GET`` with no (or an empty) ``Cookie``, ``Authorization``
  or ``Proxy-Authorization``, no ``REMOTE_USER``/``AUTH_TYPE``, no client certificate and
  no environ key but the standard ones (``sameness``): there is no visitor state to look
  at, so nobody's private data can be in the answer;
- it is *the same request* as before (``sameness.identity``): method, path, query string,
  scheme, host, client address and every header but a few connection ones (those too
  when the answer's ``Vary`` names them);
- the answer was a page ``HIT`` from the local tier for an anonymous visitor, from the
  very function ``cache_page`` returned as the URL resolved it, with no cookie, not
  ``private``/``no-store``/``no-cache``, no ``Vary: *``, ``Date`` or ``Expires``, the
  page's own status and body, nothing added below but Django's own headers, and the
  stack gave exactly that twice in a row (a request id or a nonce below: never skipped);
- Django's settings for request handling and the URL resolver are as they were
  (``sameness.seen``), and the local copy it came from is still the one the tier holds,
  checked the way every local hit is (this thread's committed bumps first, the breaker,
  pending bumps, then the pushes waiting on the socket).

``Age`` is computed again. The page's statistics count the answer as a ``HIT``.
What the middleware *below* would have done on the way in and out is skipped: put it
below anything that must run on every request (rate limits, logging, security).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

from ..conf import get_settings
from ..core import stats
from ..invalidation.recovery import may_serve
from ..stores.factory import get_store
from . import http, registry, sameness

MARK = "_smartcache_local_hit"  # request attribute: (alias, key, tags, value, name)
REPLAYED = "_smartcache_replayed"  # response attribute: answered by this middleware
IDENT = "_smartcache_request_identity"  # request attribute: ``identity()`` on the way in
MAX_BYTES = 4 * 1024 * 1024  # default ``SMARTCACHE["LOCAL"]["REPLAY_MAX_BYTES"]``

_NOT_SHARED = frozenset({"private", "no-store", "no-cache"})
# Headers the middleware below may add to (or, Vary, change on) a cached page's answer:
# Django's own, made from settings and the request alone. Any other header added or
# changed below (a request id, a view wrapping the page) keeps the answer from memory.
_ADDED_BELOW = frozenset(
    {
        "age",
        "cache-control",
        "content-language",
        "content-length",
        "content-security-policy",
        "content-security-policy-report-only",
        "cross-origin-opener-policy",
        "etag",
        "referrer-policy",
        "strict-transport-security",
        "vary",
        "x-content-type-options",
        "x-frame-options",
    }
)


class Answer(NamedTuple):
    alias: str
    key: str
    tags: tuple[str, ...]
    value: Any  # the local copy's decoded page: the answer is good while the tier holds it
    name: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # without Age
    content: bytes
    vary: tuple[tuple[str, str | None], ...]  # transport headers the answer varies on
    seen: tuple  # the settings the stack below reads, and the URL resolver, when it was made
    urlconf: Any  # ``request.urlconf`` then (None: ROOT_URLCONF)
    confirmed: bool
    size: int


class Answers:
    """This process's remembered answers, an LRU bounded in bytes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple, Answer] = OrderedDict()
        self.bytes = 0

    def get(self, ident: tuple) -> Answer | None:
        with self.lock:
            found = self.items.get(ident)
            if found is not None:
                self.items.move_to_end(ident)
            return found

    def put(self, ident: tuple, answer: Answer, max_bytes: int) -> None:
        with self.lock:
            self._drop(ident)
            if answer.size > max_bytes:
                return
            self.items[ident] = answer
            self.bytes += answer.size
            while self.bytes > max_bytes:
                self._drop(next(iter(self.items)))

    def drop(self, ident: tuple) -> None:
        with self.lock:
            self._drop(ident)

    def _drop(self, ident: tuple) -> None:
        old = self.items.pop(ident, None)
        if old is not None:
            self.bytes -= old.size

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.bytes = 0


_answers = Answers()


def reset(**kwargs: Any) -> None:
    """Forget every answer; on every ``setting_changed`` (middleware, URLs, hosts, the tier:
    any setting may change what the stack below answers)."""
    _answers.clear()


setting_changed.connect(reset, dispatch_uid="django_smartcache.replay")


def stats_of() -> dict[str, int]:
    """How many answers this process remembers, and their bytes."""
    with _answers.lock:
        return {"answers": len(_answers.items), "bytes": _answers.bytes}


def _tier_copy_is(alias: str, key: str, tags: tuple[str, ...], value: Any) -> bool:
    """Whether the local tier still serves ``value`` for ``key``: the checks of every
    local hit (``guarded_lookup`` up to ``LocalTier.get``), without reading Redis."""
    if not may_serve(alias):
        return False
    tier = _tier(alias)
    if tier is None:
        return False
    copy = tier.get(key, tags)
    return copy is not None and copy.value is value


def _tier(alias: str) -> Any:
    """The alias's local tier, if on (a store that is not Redis's has none)."""
    local_tier = getattr(get_store(alias), "_local_tier", None)
    return local_tier() if local_tier is not None else None


def _rebuilt(answer: Answer) -> HttpResponse:
    created = answer.value[3]
    response = HttpResponse(
        answer.content, status=answer.status, reason=answer.reason, headers=dict(answer.headers)
    )
    response["Age"] = http.age_since(created)
    setattr(response, REPLAYED, True)
    return response


def _storable(response: HttpResponseBase, page: Any, label: str | None) -> bool:
    """Whether the stack's answer is the cached page as the hit made it, with at most
    Django's own headers added below, and shareable."""
    if not isinstance(response, HttpResponse) or response.streaming:
        return False
    status, headers, content, _created, *tokens = page
    if (tokens and tokens[0]) or response.status_code != status or response.content != content:
        return False  # a token per visitor, or a view or middleware below changed the page
    kept = {name.lower(): value for name, value in headers}
    for name, value in response.items():
        lower = name.lower()
        if lower in _ADDED_BELOW or lower == (label or "").lower():
            continue
        if kept.get(lower) != value:
            return False
    if response.cookies or response.has_header("Set-Cookie"):
        return False
    if response.has_header("Date") or response.has_header("Expires"):
        return False
    if http.cache_directives(response) & _NOT_SHARED:
        return False
    return "*" not in http.vary_headers(response)


class LocalHitMiddleware(MiddlewareMixin):
    """Answers repeated anonymous requests for hot pages from memory; put it after
    SecurityMiddleware and before SessionMiddleware (needs ``SMARTCACHE["LOCAL"]``)."""

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        conf = get_settings()
        if conf.LOCAL is None or not conf.ENABLED:
            return None
        # Taken on the way in: a middleware below may change META (REMOTE_ADDR from a proxy).
        ident = request.__dict__[IDENT] = sameness.identity(request)
        answer = _answers.get(ident) if ident is not None and _answers.items else None
        if answer is None or not answer.confirmed:
            return None
        meta = request.META
        if any(meta.get(name) != value for name, value in answer.vary):
            return None
        if answer.seen != sameness.seen(answer.urlconf):
            _answers.drop(ident)
            return None
        if not _tier_copy_is(answer.alias, answer.key, answer.tags, answer.value):
            _answers.drop(ident)
            return None
        stats.count(answer.alias, registry.VIEW, answer.name, "HIT")
        return _rebuilt(answer)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        marked = request.__dict__.get(MARK)
        if marked is None or getattr(response, REPLAYED, False):
            return response
        ident = request.__dict__.get(IDENT)
        conf = get_settings()
        alias, key, tags, value, name = marked
        if ident is None or conf.LOCAL is None or not _storable(response, value, conf.HEADER):
            return response
        urlconf = getattr(request, "urlconf", None)  # a middleware below may set one
        seen = sameness.seen(urlconf)
        if seen is None:
            return response
        tier = _tier(alias)
        if tier is None or not tier.holds(key, value):
            return response
        vary = tuple(
            (meta_name, request.META.get(meta_name))
            for meta_name in sorted(http.meta_name(h) for h in http.vary_headers(response))
            if meta_name in sameness.TRANSPORT
        )
        headers = tuple((k, v) for k, v in response.items() if k.lower() != "age")
        content = response.content
        before = _answers.get(ident)
        confirmed = (
            before is not None
            and before.value is value
            and (before.status, before.reason, before.headers, before.content, before.vary)
            == (response.status_code, response.reason_phrase, headers, content, vary)
            and before.seen == seen
        )
        size = sys.getsizeof(content) + sameness.size(headers) + sameness.size(ident) + 400
        answer = Answer(
            alias,
            key,
            tuple(tags),
            value,
            name,
            response.status_code,
            response.reason_phrase,
            headers,
            content,
            vary,
            seen,
            urlconf,
            confirmed,
            size,
        )
        limit = (conf.LOCAL or {}).get("REPLAY_MAX_BYTES", MAX_BYTES)
        _answers.put(ident, answer, limit)
        return response
