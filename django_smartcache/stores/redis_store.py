"""The django-redis store: every operation is one Lua script call, one round trip.

Keys still go through the cache's ``make_key`` (so ``KEY_PREFIX``, ``VERSION``
and ``KEY_FUNCTION`` apply) and payloads through its serializer and compressor.
Only the raw client is used, for the scripts; Sentinel and replication setups
keep working because django-redis hands out the client.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Sequence
from typing import Any

from redis.exceptions import ConnectionError, NoScriptError, RedisError, ResponseError, TimeoutError

from ..conf import get_settings
from . import local, scripts, server_identity
from .base import hold_end
from .stamped import StampedStore


def supports(cache: Any) -> bool:
    """Whether ``cache`` is django-redis with a client we can script against."""
    try:
        from django_redis.cache import RedisCache
    except ImportError:  # pragma: no cover - django-redis is a dependency
        return False
    if not isinstance(cache, RedisCache):
        return False
    client = cache.client
    if not hasattr(client, "get_client") or type(client).__name__ == "ShardClient":
        return False
    probe = client.make_key("sc-probe")
    return str(client.make_key("")) + "sc-probe" == str(probe)


def _call(conn: Any, script: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA on ``conn``, loading the script first if the server lost it."""
    conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
    try:
        return conn.read_response()
    except NoScriptError:
        conn.send_command("SCRIPT", "LOAD", script.script)
        conn.read_response()
        conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return conn.read_response()


class _Held:
    """A pool connection kept by one thread; given back when the thread ends."""

    __slots__ = ("pool", "conn", "pid")

    def __init__(self, pool: Any) -> None:
        self.pool, self.conn, self.pid = pool, pool.get_connection(), os.getpid()

    def give_back(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and self.pid == os.getpid():
            self.pool.release(conn)

    def __del__(self) -> None:
        # The thread ended (its locals are dropped). A garbage collection may run this in
        # the middle of the pool's own work: leave the connection to the next call.
        conn = getattr(self, "conn", None)  # (None when the pool failed to give one)
        if conn is not None and self.pid == os.getpid():
            _orphans.append((self.pool, conn))


_orphans: list[tuple[Any, Any]] = []  # (pool, connection) of threads that ended


def _release_orphans() -> None:
    while _orphans:
        with contextlib.suppress(Exception):
            pool, conn = _orphans.pop()
            pool.release(conn)


class RedisStore(StampedStore):
    """Entries as Redis strings that carry their stamp, checked against the tokens.

    A hit is one MGET: the entry, the static tags' tokens, and the run-time tags
    this process saw on that entry before (learned). Only when the entry names a
    tag the MGET did not fetch does a second MGET follow. Comparing on the client
    keeps Redis doing plain reads: a script costs it about 20 µs more per hit.
    """

    def __init__(self, alias: str, cache: Any, prefix: str) -> None:
        super().__init__(alias, cache, prefix)
        client = cache.client
        self._client = client
        self._make_key = client.make_key
        self._encode = client.encode
        self._decode = client.decode
        self.tag_prefix = str(client.make_key(f"{prefix}:v:"))
        self.seq_key = str(client.make_key(f"{prefix}:seq"))
        self.bumped_key = str(client.make_key(f"{prefix}:bumped"))
        self.stats_key = str(client.make_key(f"{prefix}:stats"))
        self.server_key = str(client.make_key(f"{prefix}:server"))
        self._scripts: dict[str, Any] = {}
        self._learned: dict[str, tuple[str, ...]] = {}
        self._held = threading.local()  # per thread: the connection bumps go through
        self._sentinel = "Sentinel" in type(client).__name__
        server_identity.watch(self)

    def _local_tier(self) -> Any:
        if self._sentinel:
            return None  # a failover moves the data, not the push connection: not offered
        return local.tier_for(self)

    def _script(self, name: str):
        # register_script is bound to a client; django-redis may replace clients.
        conn = self._client.get_client(write=True)
        found = self._scripts.get(name)
        if found is None or found.registered_client is not conn:
            found = conn.register_script(getattr(scripts, name))
            self._scripts[name] = found
        return found

    def _evalsha(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run script ``name`` on a pooled connection, below redis-py's command layers.

        The bump is on the path of every autocommit ``save()``; this saves it about 40 µs
        of client-side work (bench/writes.py). Same protocol, a connection of the same
        pool (so the server identity check still runs on each new connection, and a
        Sentinel pool still finds the master), held by the calling thread; a connection
        that failed is dropped, as redis-py does; a server that lost the script gets it
        again.
        """
        if _orphans:
            _release_orphans()
        script = self._script(name)
        pool = script.registered_client.connection_pool
        held = getattr(self._held, "it", None)
        reused = not (
            held is None or held.conn is None or held.pool is not pool or held.pid != os.getpid()
        )
        if not reused:
            # This thread's own connection, kept checked out: taking one from the pool
            # and giving it back costs a readiness check (a syscall) and locking each time.
            held = self._held.it = _Held(pool)
        try:
            return _call(held.conn, script, keys, args)
        except ResponseError:
            raise  # an error reply: the connection is fine
        except BaseException as exc:
            held.conn.disconnect()  # dropped, as redis-py does
            held.give_back()
            if not (reused and isinstance(exc, (ConnectionError, TimeoutError))):
                raise
        # A kept connection the server closed meanwhile (its idle ``timeout``, a restart):
        # once more on a new one, as the pool's health check would have done. A bump run
        # twice only replaces the tokens twice.
        held = self._held.it = _Held(pool)
        try:
            return _call(held.conn, script, keys, args)
        except ResponseError:
            raise
        except BaseException:
            held.conn.disconnect()
            held.give_back()
            raise

    def entry_key(self, key: str) -> str:
        return str(self._make_key(f"{self.prefix}:e:{key}"))

    def lock_key(self, key: str) -> str:
        return str(self._make_key(f"{self.prefix}:l:{key}"))

    def _fetch(
        self, key: str, tags: Sequence[str], learned: Sequence[str]
    ) -> tuple[bytes | None, list[Any]]:
        prefix = self.tag_prefix
        values = self._client.get_client(write=True).mget(
            [self.entry_key(key), *(prefix + tag for tag in tags), *(prefix + t for t in learned)]
        )
        return values[0], values[1:]

    def _fetch_tags(self, names: Sequence[str]) -> list[Any]:
        client = self._client.get_client(write=True)
        return client.mget([self.tag_prefix + name for name in names])

    def _lock(
        self, key: str, tags: Sequence[str], lock_token: str | None, seen: bytes, compare: bool
    ) -> list:
        """Take the fill lock and read (or create) the tokens to stamp with.

        ``seen`` (the start of the entry the MGET returned) lets the script notice an
        entry stored in between, so a late reader does not recompute a fresh entry.
        """
        conf = get_settings()
        keys = [
            self.lock_key(key),
            self.seq_key,
            self.entry_key(key),
            *(self.tag_prefix + tag for tag in tags),
        ]
        args = [
            lock_token or "",
            max(1, int(conf.LOCK_TIMEOUT * 1000)),
            self.now_seed(),
            self.new_token(),
            seen,
            "1" if compare else "0",
        ]
        return self._script("LOCK")(keys=keys, args=args)

    def write(
        self,
        key: str,
        value: Any,
        *,
        stamp: Sequence[tuple[str, Any]],
        dynamic: Sequence[str],
        seq: int,
        ttl: float | None,
        lock_token: str | None,
        duration: float = 0.0,
    ) -> bool:
        static = "\n".join(f"{tag}\n{_text(token)}" for tag, token in stamp)
        fresh_until = 0 if ttl is None else int((time.time() + ttl) * 1000)
        conf = get_settings()
        args = [
            self.tag_prefix,
            seq,
            static,
            self._encode(value, allow_int=False),
            _ms(None if ttl is None else ttl + conf.STALE_TTL),
            lock_token or "",
            self.new_token(),
            fresh_until,
            int(duration * 1000),
            _ms(conf.LOCK_TIMEOUT),
            len(stamp),
            int(time.time() * 1000),
            *(tag for tag, _ in stamp),
            *dynamic,
        ]
        keys = [self.entry_key(key), self.lock_key(key), self.seq_key]
        if dynamic:
            self._learn(key, dynamic)
        return self._script("STORE")(keys=keys, args=args) == 1

    def mark(self, key: str, field: str, value: str, ttl: float | None, lock_token: str | None):
        keys = [self.entry_key(key), self.lock_key(key)]
        args = [field.upper(), value, _ms(ttl), lock_token or ""]
        self._script("MARK")(keys=keys, args=args)

    def release(self, key: str, lock_token: str) -> None:
        self._script("RELEASE")(keys=[self.lock_key(key)], args=[lock_token])

    def delete(self, key: str) -> None:
        self._client.get_client(write=True).delete(self.entry_key(key))

    def bump(
        self, tags: Sequence[str], hold: float = 0.0, release: int = 0, until: int = 0
    ) -> None:
        if not tags:
            return
        keys = [
            self.seq_key,
            self.bumped_key,
            *(self.tag_prefix + tag for tag in dict.fromkeys(tags)),
        ]
        args = [
            secrets.token_hex(8),
            self.now_seed(),
            repr(time.time()),
            self.tag_prefix,
            (until or hold_end(hold)) if hold else 0,
            int(release),  # end holds that end by then (epoch ms; 0: none)
        ]
        replicas = get_settings().WAIT_REPLICAS
        if not replicas:
            self._evalsha("BUMP", keys, args)
            return
        # Acknowledged by replicas too, in the same round trip, or not landed: a failover
        # to a replica that missed it would bring the old tokens back (docs: "Running
        # Redis safely"). Raising keeps the bump pending here and in the outbox.
        pipe = self._client.get_client(write=True).pipeline(transaction=False)
        self._script("BUMP")(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAIT", replicas, _ms(get_settings().WAIT_TIMEOUT))
        acknowledged = pipe.execute()[-1]
        if acknowledged < replicas:
            raise NotReplicated(
                f"a bump reached {acknowledged} of {replicas} replicas within "
                f"{get_settings().WAIT_TIMEOUT} s (SMARTCACHE['WAIT_REPLICAS'])"
            )

    def bump_times(self, tags: Sequence[str]) -> dict[str, float]:
        if not tags:
            return {}
        found = self._client.get_client(write=False).hmget(self.bumped_key, list(tags))
        return {tag: float(when) for tag, when in zip(tags, found, strict=True) if when}

    def add_stats(
        self,
        counts: dict[str, int],
        recent: dict[str, int] | None = None,
        bucket: int = 0,
        keep: int = 0,
    ) -> None:
        if not counts and not recent:
            return
        pipe = self._client.get_client(write=True).pipeline(transaction=False)
        for field, amount in counts.items():
            pipe.hincrby(self.stats_key, field, amount)
        if recent:
            bucket_key = self.bucket_key(bucket)
            for field, amount in recent.items():
                pipe.hincrby(bucket_key, field, amount)
            pipe.expire(bucket_key, keep)
        pipe.execute()

    def bucket_key(self, bucket: int) -> str:
        return str(self._make_key(f"{self.prefix}:stats:{bucket}"))

    def read_stats(self, fields: Sequence[str]) -> dict[str, int]:
        found = self._client.get_client(write=False).hgetall(self.stats_key)
        return {_text(field): int(value) for field, value in found.items()}

    def read_recent(self, buckets: Sequence[int], fields: Sequence[str]) -> dict[str, int]:
        pipe = self._client.get_client(write=False).pipeline(transaction=False)
        for bucket in buckets:
            pipe.hgetall(self.bucket_key(bucket))
        return sum_hashes(pipe.execute())


def sum_hashes(hashes: Sequence[Any]) -> dict[str, int]:
    """The counters of several ``HGETALL`` replies (dicts, or flat lists), summed."""
    total: dict[str, int] = {}
    for found in hashes:
        if isinstance(found, dict):
            pairs = found.items()
        else:
            pairs = zip(found[0::2], found[1::2], strict=True)
        for field, value in pairs:
            name = _text(field)
            total[name] = total.get(name, 0) + int(value)
    return total


class NotReplicated(RedisError):
    """A bump the master took but fewer replicas than ``WAIT_REPLICAS`` acknowledged."""


def _ms(ttl: float | None) -> int:
    """Milliseconds for PEXPIRE; 0 means no expiry."""
    if ttl is None:
        return 0
    return max(1, int(ttl * 1000))


def _text(token: Any) -> str:
    return token.decode() if isinstance(token, bytes) else str(token)
