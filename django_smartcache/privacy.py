"""What a computation read of the visitor: user, session, cookies, messages, CSRF token.

An entry is shared by every request that maps to its key, so whatever it was
built from that belongs to one visitor must be noticed. While an entry is
computed, :func:`watching` watches every request in play (the page's, a
template's, a ``HttpRequest`` passed to a cached function) and records each read
on every enclosing computation, exactly like a dependency: a page learns that a
fragment inside it read the session. The front ends decide what a read means
for them (a page key already tells anonymous visitors from users; a fragment
key does not).

For the computation only, the request's ``user``, ``session``, ``COOKIES`` and
message storage are replaced by stand-ins that record a read *each time* they
are used, then hand over to the real object (no Django class is touched; the
request's own attributes are restored afterwards):

- ``USER``: any use of ``request.user`` (or of the same object passed on);
- ``SESSION``: any use of ``request.session``, ``session_key`` included;
- ``COOKIES``: any read of ``request.COOKIES`` but the CSRF and messages cookies
  (the CSRF token is punched out instead; messages decide for themselves);
- ``MESSAGES``: any use of the message storage while it holds messages, or that
  queues one (the middleware will then set a cookie);
- ``CSRF``: ``get_token()``, seen by the ``CSRF_COOKIE_NEEDS_UPDATE`` flag it sets.

A request carrying credentials (``Authorization``, ``Proxy-Authorization``) is
``CREDENTIALS`` from the start: whatever is computed for it may depend on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.utils.functional import LazyObject, empty

from .context import computing, record_reads

USER, SESSION, COOKIES, MESSAGES, CSRF = "user", "session", "cookies", "messages", "csrf"
CREDENTIALS = "credentials"
NEEDS_UPDATE = "CSRF_COOKIE_NEEDS_UPDATE"  # set by django.middleware.csrf.get_token()
_CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION")
_ABSENT = object()

_requests: ContextVar[tuple[Any, ...]] = ContextVar("smartcache_requests", default=())
_quiet: ContextVar[bool] = ContextVar("smartcache_quiet", default=False)
_watches: ContextVar[tuple[_Watch, ...]] = ContextVar("smartcache_watches", default=())


def credentials(request: Any) -> str:
    """The credentials a request carries (``""`` when none; an empty header is none)."""
    meta = request.META
    return "\n".join(meta.get(h, "") for h in _CREDENTIAL_HEADERS if meta.get(h))


@contextmanager
def watching(request: Any = None) -> Iterator[None]:
    """Record what the block reads of ``request`` and of every request already in play."""
    requests = _requests.get()
    token = None
    if request is not None and all(r is not request for r in requests):
        requests = (*requests, request)
        token = _requests.set(requests)
    watches = [_Watch(r) for r in requests]
    active = _watches.set((*_watches.get(), *watches))
    try:
        yield
    finally:
        _watches.reset(active)
        reads: set[str] = set()
        for watch in reversed(watches):  # innermost first: restores nest
            reads |= watch.close()
        if token is not None:
            _requests.reset(token)
        if reads:
            record_reads(reads)


@contextmanager
def reads_of(request: Any = None) -> Iterator[set[str]]:
    """What the block reads of the visitor, e.g. while a key is derived from it."""
    found: set[str] = set()
    with computing() as frame, watching(request):
        yield found
    found |= frame.reads


def current_request() -> Any:
    """The innermost request in play, or ``None``."""
    requests = _requests.get()
    return requests[-1] if requests else None


def real(value: Any) -> Any:
    """The object behind a lazy object or a recorder (set up if need be), recording nothing."""
    return _unwrapper(value)()


def identifies_user(values: Any, request: Any) -> bool:
    """Whether one of ``values`` is the request's user: the object itself (however
    wrapped) or a row of the same model with the same pk. An id or a name that merely
    equals the user's could be anything else (a page number), so it does not count."""
    user = real(request.__dict__.get("user")) if request is not None else None
    if user is None:
        return False
    for value in values:
        value = real(value)
        if value is user or (
            type(value) is type(user) and user.pk is not None and value.pk == user.pk
        ):
            return True
    return False


def identifies_session(values: Any, request: Any) -> bool:
    """Whether one of ``values`` is the visitor's (non-empty) session key."""
    session = real(request.__dict__.get("session")) if request is not None else None
    key = getattr(session, "session_key", None)
    return bool(key) and any(real(value) == key for value in values)


@contextmanager
def quiet() -> Iterator[None]:
    """Reads made inside are not recorded (the caller decides what they mean)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


class _Recorder(LazyObject):
    """Stands in for one part of the visitor; records ``what`` each time it is used."""

    def __init__(self, target: Callable[[], Any], what: str, check: Any = None) -> None:
        # Straight into __dict__: LazyObject's own __init__ and _setup go through
        # __setattr__, which records here.
        self.__dict__.update(_setupfunc=target, _what=what, _check=check, _wrapped=empty)

    def _setup(self) -> None:
        self.__dict__["_wrapped"] = self.__dict__["_setupfunc"]()

    def _note(self) -> None:
        if _quiet.get():
            return
        check = self.__dict__["_check"]
        if check is None:
            record_reads((self.__dict__["_what"],))
        else:
            check(self)


def _recording(name: str) -> Callable[..., Any]:
    proxied = getattr(LazyObject, name)

    def method(self: _Recorder, *args: Any) -> Any:
        if args and args[0] == "_wrapped" and name in ("__setattr__", "__delattr__"):
            return proxied(self, *args)
        check = self.__dict__["_check"]
        if check is None:
            self._note()
            return proxied(self, *args)
        with quiet():  # a storage may read the session or cookies to answer
            result = proxied(self, *args)
        self._note()
        return result

    method.__name__ = name
    return method


for _name in (
    "__getattr__",
    "__setattr__",
    "__delattr__",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__iter__",
    "__len__",
    "__contains__",
    "__bool__",
    "__str__",
    "__bytes__",
    "__eq__",
    "__ne__",
    "__hash__",
    "__lt__",
    "__gt__",
    "__reduce__",
    "__copy__",
    "__deepcopy__",
):
    setattr(_Recorder, _name, _recording(_name))


def _messages_shown(recorder: _Recorder) -> None:
    """Messages count as read only when there are some, or when one was queued."""
    storage = recorder._wrapped
    with quiet():
        holding = getattr(storage, "added_new", False) or len(storage) > 0
    if holding:
        record_reads((MESSAGES,))


class _Cookies(dict):
    """``request.COOKIES`` for the computation: any read but of the exempt cookies records."""

    def _note(self, key: Any = None) -> None:
        if not _quiet.get() and key not in _exempt_cookies():
            record_reads((COOKIES,))

    def __getitem__(self, key: Any) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key: Any) -> bool:
        self._note(key)
        return super().__contains__(key)

    def _all(name: str) -> Callable[..., Any]:  # noqa: N805 - a class-body helper
        method = getattr(dict, name)

        def read(self: _Cookies, *args: Any) -> Any:
            self._note()
            return method(self, *args)

        return read

    __iter__ = _all("__iter__")
    keys = _all("keys")
    values = _all("values")
    items = _all("items")
    copy = _all("copy")
    __len__ = _all("__len__")
    __repr__ = _all("__repr__")
    __eq__ = _all("__eq__")
    __hash__ = None  # type: ignore[assignment]


def _exempt_cookies() -> frozenset[str]:
    names = {"messages"}  # django.contrib.messages' CookieStorage.cookie_name
    if not settings.CSRF_USE_SESSIONS:
        names.add(settings.CSRF_COOKIE_NAME)
    return frozenset(names)


class _Watch:
    """One request's visitor state, replaced by recorders for one computation."""

    __slots__ = ("request", "saved", "recorders", "csrf", "used", "added")

    def __init__(self, request: Any) -> None:
        self.request = request
        attrs = request.__dict__
        self.saved: dict[str, Any] = {}
        self.recorders: dict[str, Any] = {}
        if credentials(request):
            record_reads((CREDENTIALS,))
        for name, what, check in (
            ("user", USER, None),
            ("session", SESSION, None),
            ("_messages", MESSAGES, _messages_shown),
        ):
            current = attrs.get(name, _ABSENT)
            if current is _ABSENT:
                continue
            self.saved[name] = current
            attrs[name] = self.recorders[name] = _Recorder(_unwrapper(current), what, check)
        cookies = attrs.get("COOKIES", _ABSENT)
        if cookies is _ABSENT:
            cookies = request.COOKIES  # Django's cached property: parsed once, now
        self.saved["COOKIES"] = cookies
        with quiet():  # copying an outer computation's stand-in is no read
            attrs["COOKIES"] = self.recorders["COOKIES"] = _Cookies(cookies)
        # Message storage handed on before the computation (the ``messages`` template
        # variable) is read unwatched: its ``used`` flag still tells.
        storage = self.saved.get("_messages")
        self.used = getattr(storage, "used", None)
        self.added = getattr(storage, "added_new", False)
        if self.used is not None:
            storage.used = False
        auser = attrs.get("auser", _ABSENT)
        if auser is not _ABSENT:  # AuthenticationMiddleware's async accessor
            self.saved["auser"] = auser
            attrs["auser"] = self.recorders["auser"] = _recording_auser(auser)
        meta = request.META
        self.csrf = meta.get(NEEDS_UPDATE, _ABSENT)
        meta[NEEDS_UPDATE] = False

    def stand_in(self, value: Any) -> Any:
        """The recorder for ``value`` if it is this request's user, session or messages."""
        for name in ("user", "session", "_messages"):
            original = self.saved.get(name, _ABSENT)
            if original is _ABSENT:
                continue
            if value is original or (
                isinstance(original, LazyObject)
                and original._wrapped is not empty
                and value is _unwrapper(original)()
            ):
                return self.recorders[name]
        return None

    def close(self) -> set[str]:
        """Put the request's own objects back; return what the computation read."""
        attrs = self.request.__dict__
        for name, original in self.saved.items():
            # Unless the computation replaced it (login(), DRF setting its user): keep that.
            if attrs.get(name) is self.recorders[name]:
                attrs[name] = original
        reads: set[str] = set()
        storage = self.saved.get("_messages")
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


def _recording_auser(auser: Callable[[], Any]) -> Callable[[], Any]:
    async def watched() -> Any:
        if not _quiet.get():
            record_reads((USER,))
        with quiet():  # loading the user reads the session: that is the user read
            return await auser()

    return watched


def _unwrapper(current: Any) -> Callable[[], Any]:
    """The real object behind ``current`` (an outer recorder, or a lazy user), on demand."""

    def unwrap() -> Any:
        found = current
        while isinstance(found, LazyObject):
            if found._wrapped is empty:
                with quiet():
                    found._setup()
            found = found._wrapped
        return found

    return unwrap


def stand_in(value: Any) -> Any:
    """A recorder for ``value`` if it is the user, session or message storage of a request
    being watched, else ``None``.

    For an object handed on before the computation started (``{"me": request.user}``,
    the ``messages`` template variable): the template tag puts the recorder in its
    place, so reading it counts.
    """
    for watch in reversed(_watches.get()):
        found = watch.stand_in(value)
        if found is not None:
            return found
    return None
