"""HTTP rules for page caching: which requests and responses, and their keys.

Modelled on ``django.utils.cache`` but decided per response: the decorator sees
the response before Django's session, CSRF and message middleware add their
cookies and ``Vary: Cookie``, so it checks what those will do instead.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone, translation
from django.utils.functional import LazyObject, SimpleLazyObject, empty

from ..conf import from_django_settings
from ..core import privacy
from ..core.standins import Recorder, real
from . import csrf

cc_delim_re = re.compile(r"\s*,\s*")  # Django 6.1 dropped django.utils.cache.cc_delim_re
_LOCALE_MIDDLEWARE = "django.middleware.locale.LocaleMiddleware"
_AUTH_MIDDLEWARE = "django.contrib.auth.middleware"
_PRIVATE_BEFORE = frozenset({privacy.SESSION, privacy.COOKIES, privacy.MESSAGES})
_UNCACHEABLE_DIRECTIVES = frozenset({"private", "no-store", "no-cache"})
# RFC 9111 3.5: a shared cache may reuse a response to a request with Authorization
# only when the response says so with one of these.
_SHARED_WITH_AUTHORIZATION = frozenset({"public", "s-maxage", "must-revalidate"})


def _digest(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class Visitor:
    """Who is asking, as far as the cache is concerned.

    ``part`` is ``""`` for anonymous visitors, ``"u<pk>"`` for authenticated ones
    when ``CACHE_AUTHENTICATED`` is on, and ``None`` when the cache must be
    bypassed; so must it when ``read_before``. Checking the user may read the
    session; that read is hidden from the session's ``accessed`` flag.
    """

    __slots__ = ("part", "session", "checked_session", "read_before")

    def __init__(self, request: HttpRequest, cache_authenticated: bool) -> None:
        session = getattr(request, "session", None)
        if type(session) is Recorder:  # SmartcacheMiddleware's: this check is no read
            session = session.__dict__["_target"]
            if isinstance(session, LazyObject):
                session = real(session)
        self.session = session
        before = getattr(session, "accessed", False)
        # Something before the view (a middleware) read the session, cookies or messages:
        # it may have handed what it read on to the view (request.cart). This request
        # then neither gets nor gives a shared copy. SmartcacheMiddleware records such
        # reads; without it, the session's own flag tells of a session read (one holding
        # nothing, or only the CSRF secret of CSRF_USE_SESSIONS, has nothing to hand on).
        seen = privacy.before_the_view(request)
        if seen is not None:
            self.read_before = bool(seen & _PRIVATE_BEFORE)
        else:
            self.read_before = before and _holds_more_than_csrf(self.session)
        user = getattr(request, "user", None)
        if user is not None and _surely_anonymous(request, user, session):
            # What AuthenticationMiddleware's get_user() / auser() would return, without
            # reading the (empty) session; they cache their result under these names.
            request._cached_user = request._acached_user = _anonymous_user()()
            authenticated, self.checked_session = False, True
        else:
            authenticated = bool(user is not None and user.is_authenticated)
            self.checked_session = bool(getattr(self.session, "accessed", False)) and not before
        if self.checked_session:
            self.session.accessed = before
        if not authenticated:
            self.part: str | None = ""
        elif cache_authenticated:
            self.part = f"u{user.pk}"
        else:
            self.part = None

    def finish(self) -> None:
        """Give the session back the ``accessed`` flag this check hid; call once, after
        the view ran or a hit was found, so SessionMiddleware still adds ``Vary: Cookie``
        exactly as it would without this app."""
        if self.checked_session:
            self.session.accessed = True


def _holds_more_than_csrf(session: Any) -> bool:
    from django.middleware.csrf import CSRF_SESSION_KEY

    try:
        return bool(set(session.keys()) - {CSRF_SESSION_KEY})
    except Exception:  # not a dict-like session: assume the worst
        return True


@from_django_settings
def _django() -> tuple[bool, bool, str]:
    """``USE_I18N``, ``USE_TZ``, ``SESSION_COOKIE_NAME`` (read on every page request)."""
    return settings.USE_I18N, settings.USE_TZ, settings.SESSION_COOKIE_NAME


@functools.cache
def _anonymous_user() -> type:
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser


def _surely_anonymous(request: HttpRequest, user: Any, session: Any) -> bool:
    """AuthenticationMiddleware's own lazy user, not loaded yet, no session cookie and no
    session key (a middleware may load a session from elsewhere: a header).

    Then the user can only be anonymous, and loading it through the session is
    skipped: the common case, a first-time visitor, costs no session work. A lazy
    user set by any other middleware (a JWT cookie, say) is asked, never assumed.
    SmartcacheMiddleware's stand-in is looked through (not yet set up, it read nothing).
    """
    if type(user) is Recorder and user.__dict__["_wrapped"] is empty:
        user = user.__dict__["_target"]
    return (
        type(user) is SimpleLazyObject
        and user._wrapped is empty
        and getattr(user.__dict__.get("_setupfunc"), "__module__", None) == _AUTH_MIDDLEWARE
        and not _has_cookie(request.COOKIES, _django()[2])
        and (session is None or _without_key(session))
    )


def _without_key(session: Any) -> bool:
    """A session of Django's with no key (reading it loads nothing); any other: unknown."""
    from django.contrib.sessions.backends.base import SessionBase

    return isinstance(session, SessionBase) and session.session_key is None


def _has_cookie(cookies: Any, name: str) -> bool:
    """``name in cookies``, past SmartcacheMiddleware's recording copy (this is no read)."""
    return dict.__contains__(cookies, name) if isinstance(cookies, dict) else name in cookies


_queries: dict[tuple[str, frozenset[str] | None], str] = {}
_page_keys: dict[tuple[Any, ...], str] = {}  # what a key is made of -> the key (memoized)
_QUERIES_MAX = 10_000


def _normal_query(query_string: str, query_params: frozenset[str] | None) -> str:
    """The query string as part of a key: sorted by name, filtered (memoized)."""
    found = _queries.get((query_string, query_params))
    if found is None:
        # Sorted by name only: a stable sort keeps the order of repeated parameters.
        pairs = parse_qsl(query_string, keep_blank_values=True)
        if query_params is not None:
            pairs = [pair for pair in pairs if pair[0] in query_params]
        found = repr(sorted(pairs, key=lambda pair: pair[0]))
        if len(_queries) >= _QUERIES_MAX:
            _queries.clear()
        _queries[(query_string, query_params)] = found
    return found


def page_key(
    request: HttpRequest,
    visitor: str,
    key_prefix: str,
    deps_id: str,
    query_params: frozenset[str] | None = None,
) -> str:
    """Key of a page: scheme, host, path, query sorted by name, language, zone, visitor.

    With ``query_params``, only those query parameters are part of the key.
    """
    use_i18n, use_tz, _ = _django()
    scheme = request.scheme or ""
    parts = (
        scheme,
        _host(request, scheme),
        request.path,
        request.META.get("QUERY_STRING", ""),
        query_params,
        visitor,
        (translation.get_language() or "") if use_i18n else None,
        timezone.get_current_timezone_name() if use_tz else None,
        key_prefix,
        deps_id,
    )
    found = _page_keys.get(parts)
    if found is None:
        query = _normal_query(parts[3], query_params)
        named = [*parts[:3], query, visitor, *(p for p in parts[6:8] if p is not None)]
        found = f"page:{key_prefix}:{deps_id}:{_digest(chr(0).join(named))}"
        if len(_page_keys) >= _QUERIES_MAX:
            _page_keys.clear()
        _page_keys[parts] = found
    return found


@from_django_settings
def _validated_hosts() -> dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]]:
    """Raw host values -> ``get_host()`` for them, with the ``ALLOWED_HOSTS`` it was
    checked against (emptied when any setting changes)."""
    return {}


def _host(request: HttpRequest, scheme: str) -> str:
    """``request.get_host()``, which checks ``ALLOWED_HOSTS`` on every call (a few µs of
    a hit), asked once per raw value of what it reads (the headers, and the scheme, for
    the default port) while ``ALLOWED_HOSTS``, ``DEBUG`` and ``USE_X_FORWARDED_HOST``/
    ``_PORT`` stay as they were then, even if changed without ``override_settings``: a
    list changed in place counts (``DisallowedHost`` is raised, never remembered). Asked
    every time: a request class with its own ``get_host``, an ``ALLOWED_HOSTS`` that is
    not a plain list or tuple (one that reads a table of tenants, say)."""
    allowed = settings.ALLOWED_HOSTS
    if getattr(type(request), "get_host", None) is not HttpRequest.get_host or type(
        allowed
    ) not in (list, tuple):
        return request.get_host()
    meta = request.META
    raw = (
        meta.get("HTTP_X_FORWARDED_HOST"),
        meta.get("HTTP_HOST"),
        meta.get("SERVER_NAME"),
        meta.get("SERVER_PORT"),
        meta.get("HTTP_X_FORWARDED_PORT"),
        scheme,
    )
    checked_against = (
        *allowed,
        settings.DEBUG,
        settings.USE_X_FORWARDED_HOST,
        settings.USE_X_FORWARDED_PORT,
    )
    hosts = _validated_hosts()
    found = hosts.get(raw)
    if found is not None and found[1] == checked_against:
        return found[0]
    host = request.get_host()
    if len(hosts) >= _QUERIES_MAX:
        hosts.clear()
    hosts[raw] = (host, checked_against)
    return host


def variant_key(request: HttpRequest, base: str, headers: tuple[str, ...]) -> str:
    """Key of one variant of a page whose response varies on ``headers``.

    An absent header and an empty one are different variants (RFC 9111 4.1). With
    ``USE_I18N`` and ``LocaleMiddleware``, ``Accept-Language`` is left out as Django
    leaves it out: the active language, chosen from it, is already part of the key,
    and raw header strings would only split one entry into many. Without the
    middleware the header does not choose the language, so it stays in the key.
    """
    skip_language = settings.USE_I18N and _LOCALE_MIDDLEWARE in settings.MIDDLEWARE
    parts = []
    for header in headers:
        if skip_language and header == "accept-language":
            continue
        value = request.META.get(meta_name(header))
        parts.append(header if value is None else f"{header}={value}")
    return f"{base}:{_digest(chr(0).join(parts))}"


def meta_name(header: str) -> str:
    """The ``request.META`` key of a request header (``Accept-Language``: ``HTTP_ACCEPT_...``)."""
    name = header.upper().replace("-", "_")
    return name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"


def authorization(request: HttpRequest) -> str:
    """The request's credentials (``Authorization``, ``Proxy-Authorization``), or ``""``."""
    return privacy.credentials(request)


def visitor_part(visitor: str, request: HttpRequest) -> str:
    """The visitor's part of a page key: who they are, and their credentials if any.

    A request with credentials only ever meets entries stored for the very same
    ones, which are stored only when the response allowed it.
    """
    auth = privacy.credentials(request)
    return f"{visitor}a{_digest(auth)}" if auth else visitor


def vary_headers(response: HttpResponseBase) -> tuple[str, ...]:
    """The response's ``Vary`` header names, lower-cased and sorted."""
    if not response.has_header("Vary"):
        return ()
    return tuple(sorted({h.strip().lower() for h in cc_delim_re.split(response["Vary"]) if h}))


def cache_directives(response: HttpResponseBase) -> set[str]:
    """The names of the response's ``Cache-Control`` directives, lower-cased."""
    if not response.has_header("Cache-Control"):
        return set()
    directives = cc_delim_re.split(response["Cache-Control"])
    return {d.split("=", 1)[0].strip().lower() for d in directives}


def refusal(
    request: HttpRequest,
    response: HttpResponseBase,
    reads: set[str] | frozenset[str],
    cacheable_status: frozenset[int],
) -> str | None:
    """Why this response must not be stored (``None`` when it may be).

    ``reads`` is what computing it read of the visitor (``privacy``); a page key
    already tells anonymous visitors from users (and users apart), so reading the
    user is fine; the session, messages and cookies are not.
    """
    if response.streaming:
        return "streaming response"
    if response.status_code not in cacheable_status:
        return f"status {response.status_code}"
    if response.cookies or response.has_header("Set-Cookie"):
        return "sets a cookie"
    directives = cache_directives(response)
    if directives & _UNCACHEABLE_DIRECTIVES:
        return "Cache-Control forbids it"
    if "*" in vary_headers(response):
        return "Vary: *"
    if authorization(request) and not directives & _SHARED_WITH_AUTHORIZATION:
        return "answers a request with Authorization (RFC 9111 3.5)"
    if privacy.SESSION in reads:
        return "depends on the visitor's session"
    if privacy.MESSAGES in reads:
        return "shows (or queues) the visitor's messages"
    if privacy.COOKIES in reads and "cookie" not in vary_headers(response):
        return "read the visitor's cookies without Vary: Cookie"
    return None


def freeze(response: HttpResponse, content: bytes, tokens: bool) -> tuple[Any, ...]:
    """What is stored of a response: status, headers, body, when it was made, and
    whether the body holds CSRF placeholders to fill in per visitor."""
    # A tuple of tuples: nothing in what is stored can change, so the local tier hands the
    # decoded page to every hit as it is (``stores.local``).
    headers = tuple((k, v) for k, v in response.items() if k.lower() != "age")
    return (response.status_code, headers, content, time.time(), tokens)


def thaw(frozen: tuple[Any, ...], request: HttpRequest) -> HttpResponse:
    """Rebuild a response from :func:`freeze` output for this visitor, with its ``Age``."""
    status, headers, content, created, *rest = frozen
    if rest and rest[0]:
        content = csrf.fill_in(content, request)
    response = HttpResponse(content, status=status, headers=dict(headers))
    response["Age"] = age_since(created)
    return response


def age_since(created: float) -> str:
    """The ``Age`` header of an entry made at ``created`` (``time.time()``)."""
    return str(max(0, int(time.time() - created)))
