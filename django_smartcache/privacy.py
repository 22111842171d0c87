"""What a computation read of the visitor: the session, the user, messages, the CSRF token.

An entry is shared by every request that maps to its key, so whatever it was
built from that belongs to one visitor must be noticed. While an entry is
computed, :func:`watching` watches every request in play (the page's, a
template's, a ``HttpRequest`` passed to a cached function) and records what was
read on every enclosing computation, exactly like a dependency, so a page
learns that a fragment inside it read the session. The front ends decide what
a read means for them: a page key already varies on who the visitor is, a
fragment key does not (see ``pages`` and ``templatetags.smartcache``).

How each read is seen, without touching Django's classes:

- session: the session's own ``accessed`` / ``modified`` flags, cleared for the
  computation and restored (or'ed) afterwards, so ``SessionMiddleware`` still
  adds ``Vary: Cookie`` as it would;
- messages: the storage's ``used`` flag, likewise (shown and not empty);
- CSRF token: ``get_token()`` always sets ``CSRF_COOKIE_NEEDS_UPDATE``, likewise;
  a token rendered from an already evaluated lazy value is found in the content
  by ``csrf.punch`` instead;
- user: ``request.user`` is replaced, for the computation only, by a lazy object
  that records the read when first used and then is the real user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.utils.functional import LazyObject, SimpleLazyObject, empty

from .context import computing, record_reads

USER, SESSION, MESSAGES, CSRF = "user", "session", "messages", "csrf"
NEEDS_UPDATE = "CSRF_COOKIE_NEEDS_UPDATE"  # set by django.middleware.csrf.get_token()
_ABSENT = object()

_requests: ContextVar[tuple[Any, ...]] = ContextVar("smartcache_requests", default=())


@contextmanager
def watching(request: Any = None) -> Iterator[None]:
    """Record what the block reads of ``request`` and of every request already in play."""
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


class _Watch:
    """The visitor-state flags of one request, cleared for one computation."""

    __slots__ = (
        "request",
        "session",
        "accessed",
        "modified",
        "messages",
        "used",
        "csrf",
        "user",
        "lazy",
    )

    def __init__(self, request: Any) -> None:
        self.request = request
        self.session = session = getattr(request, "session", None)
        if session is not None:
            self.accessed = getattr(session, "accessed", False)
            self.modified = getattr(session, "modified", False)
            session.accessed = False
        self.messages = messages = getattr(request, "_messages", None)
        if messages is not None:
            self.used = getattr(messages, "used", False)
            messages.used = False
        meta = request.META
        self.csrf = meta.get(NEEDS_UPDATE, _ABSENT)
        meta[NEEDS_UPDATE] = False
        self.user = request.__dict__.get("user", _ABSENT)
        self.lazy = None
        if self.user is not _ABSENT:
            request.user = self.lazy = SimpleLazyObject(self._read_user)

    def _read_user(self) -> Any:
        record_reads((USER,))
        user = self.user
        if isinstance(user, LazyObject):
            if user._wrapped is empty:
                user._setup()
            return user._wrapped
        return user

    def close(self) -> set[str]:
        """Restore the flags (or'ed with what the computation did); return what it read."""
        reads: set[str] = set()
        request = self.request
        # Unless the computation set a user of its own (login(), DRF): then keep that.
        if self.lazy is not None and request.__dict__.get("user") is self.lazy:
            request.user = self.user
        session = self.session
        if session is not None:
            accessed = getattr(session, "accessed", False)
            if accessed or (getattr(session, "modified", False) and not self.modified):
                reads.add(SESSION)
        messages = self.messages
        if messages is not None:
            used = getattr(messages, "used", False)
            if used and len(messages):  # may load the storage, which may read the session
                reads.add(MESSAGES)
            messages.used = self.used or used
        if session is not None:
            session.accessed = self.accessed or SESSION in reads
        meta = request.META
        if meta.get(NEEDS_UPDATE):
            reads.add(CSRF)
        elif self.csrf is _ABSENT:
            del meta[NEEDS_UPDATE]
        else:
            meta[NEEDS_UPDATE] = self.csrf
        return reads
