"""The django-redis store: every operation is one Lua script call, one round trip.

Keys still go through the cache's ``make_key`` (so ``KEY_PREFIX``, ``VERSION``
and ``KEY_FUNCTION`` apply) and payloads through its serializer and compressor.
Only the raw client is used, for the scripts; Sentinel and replication setups
keep working because django-redis hands out the client.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from . import scripts
from .conf import get_settings
from .stores import EARLY, HIT, MISS, PASS, REVOKED, STALE, VARY, ReadResult, Store


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


class RedisStore(Store):
    """Entries as Redis hashes validated server-side against their tokens."""

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
        self._scripts: dict[str, Any] = {}

    def _script(self, name: str):
        # register_script is bound to a client; django-redis may replace clients.
        conn = self._client.get_client(write=True)
        found = self._scripts.get(name)
        if found is None or found.registered_client is not conn:
            found = conn.register_script(getattr(scripts, name))
            self._scripts[name] = found
        return found

    def entry_key(self, key: str) -> str:
        return str(self._make_key(f"{self.prefix}:e:{key}"))

    def lock_key(self, key: str) -> str:
        return str(self._make_key(f"{self.prefix}:l:{key}"))

    def read(
        self, key: str, tags: Sequence[str], *, lock_token: str | None, want_tags: bool
    ) -> ReadResult:
        conf = get_settings()
        keys = [self.entry_key(key), self.lock_key(key), self.seq_key]
        keys.extend(self.tag_prefix + tag for tag in tags)
        now = time.time()
        args = [
            self.tag_prefix,
            lock_token or "",
            max(1, int(conf.LOCK_TIMEOUT * 1000)),
            int(now * 1_000_000),
            self.new_token(),
            "1" if want_tags else "0",
            int(now * 1000),
            repr(self.early_factor()),
            "1" if conf.STALE_ON_INVALIDATION else "0",
        ]
        out = self._script("READ")(keys=keys, args=args)
        state = out[0]
        if state == 1:
            stamp = tuple(out[2].decode().split("\n")[::2]) if len(out) > 2 else ()
            return ReadResult(HIT, self._decode(out[1]), stamp)
        if state == 2:
            return ReadResult(VARY, tuple(out[1].decode().split("\n")))
        if state == 3:
            return ReadResult(PASS)
        locked, seq = out[1] == 1, int(out[2])
        if state == 0:
            return ReadResult(MISS, locked=locked, seq=seq, tokens=tuple(out[3:]))
        old = self._decode(out[3])
        stamp = tuple(out[4].decode().split("\n")[::2]) if want_tags else ()
        kind = {4: STALE, 5: REVOKED, 6: EARLY}[state]
        return ReadResult(kind, old, stamp, locked=locked, seq=seq, tokens=tuple(out[5:]))

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
        args = [
            self.tag_prefix,
            seq,
            static,
            self._encode(value, allow_int=False),
            _ms(None if ttl is None else ttl + get_settings().STALE_TTL),
            lock_token or "",
            self.new_token(),
            fresh_until,
            int(duration * 1000),
            *dynamic,
        ]
        keys = [self.entry_key(key), self.lock_key(key)]
        return self._script("STORE")(keys=keys, args=args) == 1

    def mark(self, key: str, field: str, value: str, ttl: float | None, lock_token: str | None):
        keys = [self.entry_key(key), self.lock_key(key)]
        self._script("MARK")(keys=keys, args=[field, value, _ms(ttl), lock_token or ""])

    def release(self, key: str, lock_token: str) -> None:
        self._script("RELEASE")(keys=[self.lock_key(key)], args=[lock_token])

    def delete(self, key: str) -> None:
        self._client.get_client(write=True).delete(self.entry_key(key))

    def bump(self, tags: Sequence[str]) -> None:
        if not tags:
            return
        keys = [
            self.seq_key,
            self.bumped_key,
            *(self.tag_prefix + tag for tag in dict.fromkeys(tags)),
        ]
        args = [secrets.token_hex(8), self.now_seed(), repr(time.time()), self.tag_prefix]
        self._script("BUMP")(keys=keys, args=args)

    def bump_times(self, tags: Sequence[str]) -> dict[str, float]:
        if not tags:
            return {}
        found = self._client.get_client(write=False).hmget(self.bumped_key, list(tags))
        return {tag: float(when) for tag, when in zip(tags, found, strict=True) if when}

    def add_stats(self, counts: dict[str, int]) -> None:
        if not counts:
            return
        pipe = self._client.get_client(write=True).pipeline(transaction=False)
        for field, amount in counts.items():
            pipe.hincrby(self.stats_key, field, amount)
        pipe.execute()

    def read_stats(self, fields: Sequence[str]) -> dict[str, int]:
        found = self._client.get_client(write=False).hgetall(self.stats_key)
        return {_text(field): int(value) for field, value in found.items()}


def _ms(ttl: float | None) -> int:
    """Milliseconds for PEXPIRE; 0 means no expiry."""
    if ttl is None:
        return 0
    return max(1, int(ttl * 1000))


def _text(token: Any) -> str:
    return token.decode() if isinstance(token, bytes) else str(token)
