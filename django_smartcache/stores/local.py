"""The process-local tier: hot entries served from this process's memory, kept coherent
by Redis's invalidation pushes (``SMARTCACHE["LOCAL"]``, opt-in; standalone Redis).

What it keeps: the raw bytes of entries this process found valid in Redis (a HIT), with
the names of every tag of their stamp, in an LRU bounded by ``MAX_BYTES``. Each copy is
decoded again on every local hit (a caller may change what it gets back), unless nothing in
it can change (a stored page: a tuple of strings, bytes and numbers), then decoded once.

How it stays coherent: a dedicated connection subscribes to ``__redis__:invalidate``, and
a second one turns on ``CLIENT TRACKING ON REDIRECT <first> BCAST PREFIX <tag keys>
PREFIX <entry keys>``: Redis then pushes the name of every tag key and entry key that
anyone changes, deletes, expires or evicts (a ``FLUSHDB`` pushes "everything"). Before a
copy is served, the pushes already on the socket are read without blocking and the
copies they name are dropped: a bump acknowledged to its writer has pushed its key
before the acknowledgement (Redis queues the push while it runs the bump), so a read
that starts after the bump returned finds it on the socket (loopback and LAN delivery
aside: see the docs' exact guarantee).

What makes it drop everything and read Redis until the push connection is back: a
push connection lost or closed by the server (its socket readable on the control
connection, an error on the subscriber), the breaker opening, a new Redis server
(``server_identity``), a fork. ``MAX_AGE`` is the backstop: no copy is served older
than that, whatever was missed. A copy is kept only if no push at all arrived between
the start of the Redis read that found it and its insertion (the push of a bump that
landed in between may already have been read by another thread).
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..conf import get_settings, on_settings_change

CHANNEL = b"__redis__:invalidate"
RETRY_EVERY = 1.0  # seconds between attempts to bring the push connection back
_CONNECTION_OPTIONS = frozenset(
    {"host", "port", "path", "db", "username", "password", "socket_timeout"}
    | {"socket_connect_timeout", "socket_keepalive", "socket_keepalive_options"}
    | {"encoder_class", "credential_provider"}
)


NOT_SHARED = object()  # a copy's ``value`` when each hit must decode its own
# What a decoded value may be made of to be handed to every hit as it is: nothing in it
# can be changed (a stored page is a tuple of these; a function's list is decoded anew).
_IMMUTABLE = (str, bytes, int, float, complex, bool, type(None))


def _immutable(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _IMMUTABLE):
        return True
    if type(value) in (tuple, frozenset) and depth < 4:
        return all(_immutable(item, depth + 1) for item in value)
    return False


class Copy(NamedTuple):
    body: bytes  # the entry's encoded body
    stamp: tuple[str, ...]  # every tag of its stamp
    keys: tuple[bytes, ...]  # the Redis keys whose change drops it (entry, tags)
    expires: float  # monotonic: its max age or its freshness, whichever comes first
    size: int
    value: Any  # the decoded value, if nothing in it can change; else NOT_SHARED


class LocalTier:
    """One alias's local copies and the push connection that keeps them honest."""

    def __init__(self, store: Any, max_bytes: int, max_age: float) -> None:
        self.store = store
        self.max_bytes, self.max_age = max_bytes, max_age
        self.copies: OrderedDict[str, Copy] = OrderedDict()
        self.by_key: dict[bytes, set[str]] = {}  # Redis key -> local keys it drops
        self.bytes = 0
        self.pushes = 0  # pushes read so far (a copy found before one is not kept)
        self.counts = {"hits": 0, "evictions": 0, "drops": 0}
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.sub: Any = None  # the subscriber connection (RESP2 pub/sub)
        self.ctl: Any = None  # the connection whose tracking redirects to ``sub``
        self.next_try = 0.0
        self.poller: Any = None  # both sockets, when they are plain ones (see ``_drain``)

    # ----------------------------------------------------------------- the push side

    def _connect(self) -> None:
        """Open both connections (the store pool's settings; not in the pool)."""
        pool = self.store._client.get_client(write=True).connection_pool
        # RESP2 whatever the pool speaks: pushes then come as plain pub/sub messages.
        # Only the address, credentials, timeouts and TLS of the pool's connections.
        options = {
            k: v
            for k, v in pool.connection_kwargs.items()
            if k in _CONNECTION_OPTIONS or k.startswith("ssl")
        }
        options["protocol"] = 2
        sub, ctl = pool.connection_class(**options), pool.connection_class(**options)
        try:
            sub.send_command("CLIENT", "ID")
            sub_id = sub.read_response()
            sub.send_command("CLIENT", "SETNAME", "smartcache-local-push")
            sub.read_response()
            sub.send_command("SUBSCRIBE", CHANNEL)
            sub.read_response()
            ctl.send_command("CLIENT", "SETNAME", "smartcache-local-tracking")
            ctl.read_response()
            ctl.send_command(
                "CLIENT",
                "TRACKING",
                "ON",
                "REDIRECT",
                sub_id,
                "BCAST",
                "PREFIX",
                self.store.tag_prefix,
                "PREFIX",
                self.store.entry_key(""),
            )
            if ctl.read_response() not in (b"OK", "OK"):
                raise ConnectionError("CLIENT TRACKING was refused")
        except BaseException:
            sub.disconnect()
            ctl.disconnect()
            raise
        self.sub, self.ctl = sub, ctl
        self.poller = _poller(sub, ctl)

    def _up(self) -> bool:
        """Whether the push connection is up (brought back at most every ``RETRY_EVERY``)."""
        if self.pid != os.getpid():  # a forked child: nothing of the parent's is ours
            self.__init__(self.store, self.max_bytes, self.max_age)  # type: ignore[misc]
        if self.sub is not None:
            return True
        now = time.monotonic()
        if now < self.next_try:
            return False
        self.next_try = now + RETRY_EVERY
        try:
            self._connect()
        except Exception:
            return False
        return True

    def _drain(self) -> bool:
        """Apply the pushes waiting on the socket; False (and all dropped) if it is lost."""
        try:
            # The fast path, one system call: a drain ends only once redis-py holds no
            # whole message and neither socket has bytes, so any push since is on a socket.
            if self.poller is not None and not self.poller.poll(0):
                return True
            if self.ctl.can_read(timeout=0):
                # The tracking connection never gets a reply it did not ask for: readable
                # means closed (a server timeout, CLIENT KILL): tracking is off.
                raise ConnectionError("the tracking connection was closed")
            while self.sub.can_read(timeout=0):
                message = self.sub.read_response()
                if message[0] in (b"message", "message") and message[1] in (
                    CHANNEL,
                    CHANNEL.decode(),
                ):
                    self._apply(message[2])
        except Exception:
            self._lost()
            return False
        return True

    def _apply(self, names: Any) -> None:
        self.pushes += 1
        if names is None:  # FLUSHDB / FLUSHALL: everything
            self._clear()
            return
        for name in names:
            for key in self.by_key.pop(name if isinstance(name, bytes) else name.encode(), ()):
                self._evict(key)

    def _lost(self) -> None:
        for conn in (self.sub, self.ctl):
            if conn is not None:
                conn.disconnect()
        self.sub = self.ctl = self.poller = None
        self.next_try = time.monotonic() + RETRY_EVERY
        self._clear()

    # ----------------------------------------------------------------- the copies

    def get(self, key: str, tags: Sequence[str]) -> Copy | None:
        """The copy of ``key`` to serve now, if there is one."""
        with self.lock:
            if not self.copies or not self._up() or not self._drain():
                return None
            found = self.copies.get(key)
            if found is None:
                return None
            if time.monotonic() >= found.expires:
                self._evict(key)
                return None
            if not set(tags) <= set(found.stamp):  # asked with other tags: Redis decides
                return None
            self.copies.move_to_end(key)
            self.counts["hits"] += 1
            return found

    def holds(self, key: str, value: Any) -> bool:
        """Whether the copy of ``key`` is the one that decoded to ``value`` (a page's)."""
        with self.lock:
            found = self.copies.get(key)
            return found is not None and found.value is value

    def mark(self) -> int | None:
        """Before a Redis read: the push count to compare with at ``put`` (None: down)."""
        with self.lock:
            if not self._up() or not self._drain():
                return None
            return self.pushes

    def put(
        self,
        key: str,
        body: bytes,
        stamp: tuple[str, ...],
        fresh_ms: int,
        mark: int,
        value: Any = NOT_SHARED,
    ) -> None:
        """Keep a copy of an entry found valid in Redis by a read that started at ``mark``
        (``value``: ``body`` decoded; kept to hand out as is only if nothing in it can change)."""
        size = len(body) + len(key) + sum(len(t) for t in stamp) + 200
        if size > self.max_bytes:
            return
        with self.lock:
            if self.sub is None or not self._drain() or self.pushes != mark:
                return  # a push arrived since the read started: it may concern this copy
            expires = time.monotonic() + self.max_age
            if fresh_ms:
                expires = min(expires, time.monotonic() + fresh_ms / 1000 - time.time())
            prefix = self.store.tag_prefix
            keys = (self.store.entry_key(key).encode(), *((prefix + t).encode() for t in stamp))
            self._evict(key)
            shared = value if value is not NOT_SHARED and _immutable(value) else NOT_SHARED
            self.copies[key] = Copy(body, stamp, keys, expires, size, shared)
            self.bytes += size
            for name in keys:
                self.by_key.setdefault(name, set()).add(key)
            while self.bytes > self.max_bytes and self.copies:
                self._evict(next(iter(self.copies)))

    def _evict(self, key: str) -> None:
        found = self.copies.pop(key, None)
        if found is None:
            return
        self.bytes -= found.size
        self.counts["evictions"] += 1
        for name in found.keys:
            owners = self.by_key.get(name)
            if owners is not None:
                owners.discard(key)
                if not owners:
                    del self.by_key[name]

    def _clear(self) -> None:
        if self.copies:
            self.counts["drops"] += 1
        self.copies.clear()
        self.by_key.clear()
        self.bytes = 0

    def clear(self) -> None:
        """Drop every copy (the breaker opened, a new server): Redis decides again."""
        with self.lock:
            self._clear()

    def close(self) -> None:
        with self.lock:
            self._lost()

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {
                "bytes": self.bytes,
                "entries": len(self.copies),
                "max_bytes": self.max_bytes,
                "connected": int(self.sub is not None),
                **self.counts,
            }


def _poller(*connections: Any) -> Any:
    """A ``poll`` of the connections' sockets; None unless every one is a plain socket
    (TLS may keep decrypted bytes the kernel does not show) and ``poll`` exists."""
    socks = [getattr(conn, "_sock", None) for conn in connections]
    if not hasattr(select, "poll") or any(type(s) is not socket.socket for s in socks):
        return None
    poller = select.poll()
    for sock in socks:
        poller.register(sock, select.POLLIN)
    return poller


DEFAULTS = {"MAX_BYTES": 32 * 1024 * 1024, "MAX_AGE": 5.0}
_tiers: dict[str, LocalTier] = {}


def tier_for(store: Any) -> LocalTier | None:
    """The local tier of ``store``'s alias, when ``SMARTCACHE["LOCAL"]`` turns it on."""
    conf = get_settings()
    if conf.LOCAL is None or store.alias != conf.CACHE_ALIAS:
        return None
    found = _tiers.get(store.alias)
    if found is None or found.store is not store:
        if found is not None:
            found.close()
        options = {**DEFAULTS, **conf.LOCAL}
        found = _tiers[store.alias] = LocalTier(store, options["MAX_BYTES"], options["MAX_AGE"])
    return found


def active() -> bool:
    """Whether a local tier exists in this process."""
    return bool(_tiers)


def stats(alias: str | None = None) -> dict[str, int]:
    """This process's local tier for ``alias`` (default: the app's): bytes, entries,
    hits, evictions, drops; empty when it is off."""
    found = _tiers.get(alias or get_settings().CACHE_ALIAS)
    return found.stats() if found is not None else {}


def clear_all() -> None:
    """Drop every copy of every tier (the breaker opened, a new Redis server)."""
    for tier in list(_tiers.values()):
        tier.clear()


@on_settings_change
def reset() -> None:
    """Close every tier (settings changed: the store it belongs to is replaced)."""
    for tier in list(_tiers.values()):
        tier.close()
    _tiers.clear()
