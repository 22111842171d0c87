"""What a computation read of the visitor: user, session, cookies, messages, CSRF token.

An entry is shared by every request that maps to its key, so whatever it was built
from that belongs to one visitor must be noticed. While an entry is computed,
:func:`watching` puts stand-ins (``standins``) in place of the visitor's parts of
every request in play (the page's, a template's, a ``HttpRequest`` passed to a
cached function) and records each use on every enclosing computation, exactly like
a dependency: a page learns that a fragment inside it read the session. The front
ends decide what a read means for them (a page key tells anonymous visitors from
users; a fragment key does not).

- ``USER``: ``request.user`` (and ``_cached_user``, ``auser()``);
- ``SESSION``: ``request.session``, ``session_key`` included;
- ``COOKIES``: ``request.COOKIES`` (but the CSRF and messages cookies: the CSRF
  token is punched out instead, messages decide for themselves), the ``Cookie``
  header in ``META`` or ``headers``;
- ``MESSAGES``: the message storage, while it holds messages or when one is queued
  (the middleware will then set a cookie);
- ``CSRF``: ``get_token()``, seen by the ``CSRF_COOKIE_NEEDS_UPDATE`` flag it sets;
- ``CREDENTIALS``: the request carries ``Authorization`` or ``Proxy-Authorization``.

What middleware read *before* the view is only known with ``SmartcacheMiddleware``
(``before_the_view``); without it, a session read before the view is still seen
through the session's own ``accessed`` flag (``http.Visitor``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ..conf import from_django_settings
from .context import active_frames, record_reads
from .standins import (
    Recorder,
    Target,
    WatchedHeaders,
    _watched_dict,
    quiet,
    real,
    user_module,
    watched_copy,
    write_back,
)

USER, SESSION, COOKIES, MESSAGES, CSRF = "user", "session", "cookies", "messages", "csrf"
CREDENTIALS = "credentials"
NEEDS_UPDATE = "CSRF_COOKIE_NEEDS_UPDATE"  # set by django.middleware.csrf.get_token()
BEFORE = "_smartcache_before_the_view"  # request attribute: set of reads before the view
_CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION")
_ABSENT = object()

_requests: ContextVar[tuple[Any, ...]] = ContextVar("smartcache_requests", default=())

__all__ = ["quiet", "real"]


def credentials(request: Any) -> str:
    """The credentials a request carries (``""`` when none; an empty header is none)."""
    meta = request.META
    return "\n".join(meta.get(h, "") for h in _CREDENTIAL_HEADERS if meta.get(h))


def outside(request: Any) -> Target | None:
    """Where ``SmartcacheMiddleware`` records reads made outside any computation (set
    ``closed`` while the work is this app's own), or ``None`` without it."""
    return getattr(request, BEFORE, None) if request is not None else None


def before_the_view(request: Any) -> set[str] | None:
    """What other middleware (or an uncached view) read of the visitor outside any
    computation (``SmartcacheMiddleware`` records it; ``None`` without it)."""
    where = outside(request)
    return None if where is None else where.before


@from_django_settings
def _exempt_cookies() -> frozenset[str]:
    names = {"messages"}  # django.contrib.messages' CookieStorage.cookie_name
    if not settings.CSRF_USE_SESSIONS:
        names.add(settings.CSRF_COOKIE_NAME)
    return frozenset(names)


# The code that reads the CSRF and messages cookies for Django itself, even inside a
# computation (``csrf_protect``, the message storage), and this app's own.
_COOKIE_KEEPERS = ("django.middleware.csrf", "django.contrib.messages.storage.")


def _counted_cookie(key: Any) -> bool:
    """Whether a read of cookie ``key`` counts as a read of the visitor's cookies.

    Reads of the CSRF and messages cookies by the code that keeps them for Django (named
    in ``_COOKIE_KEEPERS``) and by this app are not the view's. Any other read counts
    like any other cookie's, the view's own and one made for it by other Django code
    (the template engine looking up ``request.COOKIES.csrftoken``): a page that shows
    the raw CSRF cookie, or a form only to visitors who have one, is per visitor."""
    if key not in _exempt_cookies():
        return True
    reader = user_module((__name__,))
    return not reader.startswith((*_COOKIE_KEEPERS, "django_smartcache."))


WatchedCookies = _watched_dict(COOKIES, _counted_cookie)


def _counted_meta(key: Any) -> bool:
    """Whether a read of ``request.META[key]`` reads the visitor's cookies: the Cookie
    header, and the CSRF secret ``CsrfViewMiddleware`` put there from the cookie (unless
    read by the code that keeps it: ``get_token``, this app)."""
    if key == "HTTP_COOKIE":
        return True
    if key != "CSRF_COOKIE":
        return False
    reader = user_module((__name__,))
    return not reader.startswith((*_COOKIE_KEEPERS, "django_smartcache."))


WatchedMeta = _watched_dict(COOKIES, _counted_meta)


def _messages_held(storage: Any) -> bool:
    """Messages count as read only when there are some, or when one was queued."""
    return bool(getattr(storage, "added_new", False) or len(storage))


# name on the request, what a use of it is, how to tell a meaningful use
_PARTS: tuple[tuple[str, str, Callable[[Any], bool] | None], ...] = (
    ("user", USER, None),
    ("_cached_user", USER, None),
    ("_acached_user", USER, None),
    ("session", SESSION, None),
    ("_messages", MESSAGES, _messages_held),
)


def request_of(value: Any) -> HttpRequest | None:
    """The ``HttpRequest`` behind ``value`` (itself, or the one a DRF request wraps)."""
    if isinstance(value, HttpRequest):
        return value
    inner = getattr(value, "_request", None)
    return inner if isinstance(inner, HttpRequest) else None


@contextmanager
def watching(request: Any = None) -> Iterator[None]:
    """Record what the block reads of ``request`` and of every request already in play."""
    request = request_of(request)
    requests = _requests.get()
    token = None
    if request is not None and all(r is not request for r in requests):
        requests = (*requests, request)
        token = _requests.set(requests)
    watches = [_Watch(r) for r in requests]
    try:
        yield
    finally:
        reads: set[str] = set()
        for watch in reversed(watches):  # innermost first: restores nest
            reads |= watch.close()
        if token is not None:
            _requests.reset(token)
        if reads:
            record_reads(reads)


def current_request() -> Any:
    """The innermost request in play, or ``None``."""
    requests = _requests.get()
    return requests[-1] if requests else None


def is_users(value: Any, request: Any) -> bool:
    """Whether ``value`` is the visitor's user object itself, however wrapped: the
    request's, or a stand-in for a visitor's user (``SmartcacheMiddleware``'s)."""
    if isinstance(value, Recorder) and value.__dict__["_what"] == USER:
        return True
    user = real(request.__dict__.get("user")) if request is not None else None
    return user is not None and real(value) is user


def viewer(request: Any) -> str:
    """Who the request's user is, as a key part: ``"anon"`` or ``"<label>:<pk>"``."""
    user = real(request.__dict__.get("user")) if request is not None else None
    if user is None or not getattr(user, "is_authenticated", False):
        return "anon"
    return f"{user._meta.label_lower}:{user.pk}"


def watch_value(value: Any, request: Any) -> Any:
    """``value`` as a stand-in if it is the user or session of a request in play (or of
    ``request``), so that a computation handed it as an argument records its use."""
    for candidate in (*_requests.get(), request_of(request)):
        if candidate is None:
            continue
        for name, what, check in _PARTS[:1] + _PARTS[3:4]:
            part = candidate.__dict__.get(name, _ABSENT)
            if part is not _ABSENT and real(value) is real(part):
                return Recorder(value, what, Target(active_frames(), None), check)
    return value


class _Watch:
    """One request's visitor state, replaced by stand-ins for one computation."""

    __slots__ = ("request", "saved", "standins", "csrf", "used", "added")

    def __init__(self, request: Any) -> None:
        self.request = request
        attrs = request.__dict__
        where = Target(active_frames(), None)
        self.saved: dict[str, Any] = {}
        self.standins: dict[str, Any] = {}
        if credentials(request):
            record_reads((CREDENTIALS,))
        before = set(before_the_view(request) or ())
        if USER in before and viewer(request) == "anon":
            before.discard(USER)  # every anonymous visitor is the same user
        if before:
            record_reads(before)  # what was read outside may have been handed on to us
        for name, what, check in _PARTS:
            current = attrs.get(name, _ABSENT)
            if current is not _ABSENT:
                self._swap(name, Recorder(current, what, where, check))
        with quiet():
            cookies = request.COOKIES  # Django's cached property: parsed now if not yet
            meta = request.META
            request.headers  # noqa: B018 - likewise, so that it can be put back as it was
            self._swap("COOKIES", watched_copy(WatchedCookies, cookies, where))
            self._swap("META", watched_copy(WatchedMeta, meta, where))
            self._swap("headers", WatchedHeaders(meta, where, lambda key: key == "cookie"))
        auser = attrs.get("auser", _ABSENT)
        if auser is not _ABSENT:  # AuthenticationMiddleware's async accessor
            self._swap("auser", _recording_auser(auser, where))
        # Message storage handed on before the computation (the ``messages`` template
        # variable) is read unwatched: its ``used`` flag still tells.
        storage = real(self.saved.get("_messages"))
        self.used = getattr(storage, "used", None)
        self.added = getattr(storage, "added_new", False)
        if self.used is not None:
            storage.used = False
        meta = request.META
        self.csrf = meta.get(NEEDS_UPDATE, _ABSENT)
        meta[NEEDS_UPDATE] = False

    def _swap(self, name: str, standin: Any) -> None:
        attrs = self.request.__dict__
        self.saved[name] = attrs.get(name)
        attrs[name] = self.standins[name] = standin

    def stand_in(self, value: Any) -> Any:
        """The stand-in for ``value`` if it is this request's user, session or messages."""
        for name in ("user", "session", "_messages"):
            original = self.saved.get(name, _ABSENT)
            if original is not _ABSENT and value is not None and real(value) is real(original):
                return self.standins[name]
        return None

    def close(self) -> set[str]:
        """Put the request's own objects back; return what the computation read."""
        attrs = self.request.__dict__
        for name, original in self.saved.items():
            standin = self.standins[name]
            if name in ("COOKIES", "META"):
                write_back(standin, original)  # what the view changed, it keeps
            # Unless the computation replaced it (login(), DRF setting its user): keep that.
            if attrs.get(name) is standin:
                attrs[name] = original
        reads: set[str] = set()
        storage = real(self.saved.get("_messages"))
        if self.used is not None:
            used = storage.used
            with quiet():
                if (used and len(storage)) or (storage.added_new and not self.added):
                    reads.add(MESSAGES)  # shown, or queued (the middleware sets a cookie)
            storage.used = self.used or used
        meta = self.request.META
        if meta.get(NEEDS_UPDATE):
            reads.add(CSRF)
        elif self.csrf is _ABSENT:
            del meta[NEEDS_UPDATE]
        else:
            meta[NEEDS_UPDATE] = self.csrf
        return reads


def stand_in(value: Any) -> Any:
    """The stand-in for ``value`` if it is the user, session or message storage of a
    request being watched, else ``None``.

    For an object handed on before the computation started (``{"me": request.user}``,
    the ``messages`` template variable): the template tag puts the stand-in in its
    place, so reading it counts.
    """
    for request in reversed(_requests.get()):
        for name in ("user", "session", "_messages"):
            part = request.__dict__.get(name, _ABSENT)
            if (
                isinstance(part, Recorder)
                and value is not None
                and value is not part
                and real(value) is real(part)
            ):
                return part
    return None


def _recording_auser(auser: Callable[[], Any], where: Target) -> Callable[[], Any]:
    async def watched() -> Any:
        where.record(USER)
        with quiet():  # loading the user reads the session: that is the user read
            return await auser()

    return watched
