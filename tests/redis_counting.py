"""Count round trips to Redis, for tests that assert how many a code path costs.

The connection classes below are plugged into django-redis through
``OPTIONS["CONNECTION_POOL_KWARGS"]["connection_class"]`` (see ``tests/settings.py``), for a real
server (``CountingConnection``, a ``redis.Connection``) and for the in-process fakeredis server
(``CountingFakeRedisConnection``, a ``fakeredis.FakeRedisConnection``).

What counts as one round trip: one call of ``Connection.send_packed_command``. redis-py sends a
single command with one such call and a whole pipeline (MULTI/EXEC or not) with one call too, and
``FakeRedisConnection`` inherits that method from ``redis.Connection`` (it only swaps the socket
for a ``FakeSocket``), so the same hook counts both backends alike.

Not counted in ``count``: the handshake redis-py runs when a pooled connection is first opened
(``CLIENT SETINFO`` twice and ``SELECT <db>``). Those happen once per connection, not per
operation, and counting them would make "a cache hit costs one round trip" depend on whether the
pool already had a warm connection. They are tallied apart in ``handshakes`` / ``connects``.
"""

from __future__ import annotations

import threading

import redis

__all__ = [
    "COUNTER",
    "CountingConnection",
    "CountingFakeRedisConnection",
    "RoundTripCounter",
]


def _command_names(packed) -> tuple[str, ...]:
    """Best-effort names of the commands in one packed send, e.g. ``("GET",)``.

    For assertion messages only; anything unexpected yields ``("?",)``.
    """
    try:
        if isinstance(packed, (bytes, bytearray, memoryview, str)):
            packed = [packed]
        data = b"".join(p.encode() if isinstance(p, str) else bytes(p) for p in packed)
        names = []
        pos = 0
        while pos < len(data):
            if data[pos : pos + 1] != b"*":
                break
            end = data.index(b"\r\n", pos)
            nargs = int(data[pos + 1 : end])
            pos = end + 2
            for i in range(nargs):
                end = data.index(b"\r\n", pos)
                size = int(data[pos + 1 : end])
                value = data[end + 2 : end + 2 + size]
                pos = end + 2 + size + 2
                if i == 0:
                    names.append(value.decode("ascii", "replace").upper())
        return tuple(names) or ("?",)
    except Exception:
        return ("?",)


class RoundTripCounter:
    """Process-wide tally of Redis round trips made through the counting connections.

    ``count`` is the number of round trips since the last ``reset()``; ``commands`` lists, per
    round trip, the names of the commands sent in it (a pipeline shows several names).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.count = 0
            self.handshakes = 0
            self.connects = 0
            self.commands: list[tuple[str, ...]] = []

    def _round_trip(self, packed) -> None:
        names = _command_names(packed)
        with self._lock:
            self.count += 1
            self.commands.append(names)

    def _joined(self, packed) -> None:
        """A send that travels beside the round trip under way: shown with it."""
        names = _command_names(packed)
        with self._lock:
            if self.commands:
                self.commands[-1] = (*self.commands[-1], "|", *names)
            else:
                self.count += 1
                self.commands.append(names)

    def _handshake(self) -> None:
        with self._lock:
            self.handshakes += 1

    def _connect(self) -> None:
        with self._lock:
            self.connects += 1

    def __repr__(self) -> str:
        return f"<RoundTripCounter count={self.count} commands={self.commands!r}>"


COUNTER = RoundTripCounter()


_awaiting = threading.local()  # per thread: the connections sent to and not yet read from


class CountingMixin:
    """Counts ``send_packed_command`` calls, except those made while connecting, and
    except a send made while this thread still awaits a reply on another connection:
    that one travels at the same time (a Redis Cluster store sends to two nodes, then
    reads both), so it adds no round trip of wall time."""

    _smartcache_handshake_depth = 0

    def send_packed_command(self, command, check_health=True):
        if self._smartcache_handshake_depth:
            COUNTER._handshake()
        else:
            pending = _awaiting.__dict__.setdefault("conns", set())
            if pending - {id(self)}:
                COUNTER._joined(command)
            else:
                COUNTER._round_trip(command)
            pending.add(id(self))
        return super().send_packed_command(command, check_health)

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        finally:
            _awaiting.__dict__.setdefault("conns", set()).discard(id(self))

    def disconnect(self, *args, **kwargs):
        _awaiting.__dict__.setdefault("conns", set()).discard(id(self))
        return super().disconnect(*args, **kwargs)


def _connecting(name):
    def method(self, *args, **kwargs):
        outermost = not self._smartcache_handshake_depth
        if outermost and not getattr(self, "_sock", None):
            COUNTER._connect()
        self._smartcache_handshake_depth += 1
        try:
            return getattr(super(CountingMixin, self), name)(*args, **kwargs)
        finally:
            self._smartcache_handshake_depth -= 1

    method.__name__ = name
    return method


# Everything redis-py runs while opening a connection goes through one of these (their names vary
# across redis-py 5..8, so wrap whichever the installed version has).
for _name in ("connect", "connect_check_health", "on_connect", "on_connect_check_health"):
    if hasattr(redis.Connection, _name):
        setattr(CountingMixin, _name, _connecting(_name))


class CountingConnection(CountingMixin, redis.Connection):
    """A real TCP connection to Redis that counts round trips."""


try:
    from fakeredis import FakeRedisConnection
except ImportError:  # fakeredis is only needed when no real Redis is configured
    CountingFakeRedisConnection = None
else:

    class CountingFakeRedisConnection(CountingMixin, FakeRedisConnection):
        """An in-process fakeredis connection that counts round trips.

        All connections to the same host:port share one ``FakeServer`` (fakeredis keys its
        servers by address), so every cache alias, thread and raw client in the process sees
        the same data, with separate databases per db number, as with a real server.
        """
