"""The portable store: the same entry and token rules on any Django cache backend.

Used for LocMem, Memcached, Django's own Redis backend, the database cache...
The guarantees on correctness hold, but for one: a manual transaction's hold made
at the same moment as another write's bump of the same tag can be lost (two steps
here, one script on Redis; docs: explanation/invalidation.md). Those on cost do
not: a hit takes one or two ``get_many`` calls, lock release is not atomic, and
LocMem caches are local to one process (the system checks warn about that).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from django.core.cache import caches

from ..conf import get_settings
from .base import (
    EARLY,
    GLOBAL,
    HIT,
    MISS,
    PASS,
    REVOKED,
    STALE,
    VARY,
    ReadResult,
    Store,
    held_until,
    hold_end,
    is_held,
)


def _seq_of(token: Any) -> int:
    try:
        return int(str(token).split("-", 1)[0])
    except ValueError:
        return 0


class CacheStore(Store):
    """Entries are dicts ``{"s": {tag: token}, "b": value}`` stored with ``cache.set``."""

    @property
    def _cache(self) -> Any:
        # Some backends keep per-thread connections: ask the handler every time.
        return caches[self.alias]

    def _tag(self, tag: str) -> str:
        return f"{self.prefix}:v:{tag}"

    def _tokens(self, tags: Sequence[str]) -> dict[str, Any]:
        found = self._cache.get_many([self._tag(t) for t in tags])
        return {t: found.get(self._tag(t)) for t in tags}

    def _ensure(self, tags: Sequence[str], current: dict[str, Any]) -> dict[str, Any]:
        """Create missing tokens (add = SET NX), keeping whichever won a race."""
        cache = self._cache
        for tag in tags:
            if current.get(tag) is None:
                token = self.new_token()
                added = cache.add(self._tag(tag), token, None)
                current[tag] = token if added else cache.get(self._tag(tag))
        return current

    def _seq(self) -> int:
        cache = self._cache
        key = f"{self.prefix}:seq"
        value = cache.get(key)
        if value is None:
            cache.add(key, self.now_seed(), None)
            value = cache.get(key)
        return int(value or 0)

    def read(
        self, key: str, tags: Sequence[str], *, lock_token: str | None, want_tags: bool
    ) -> ReadResult:
        cache = self._cache
        ekey = f"{self.prefix}:e:{key}"
        found = cache.get_many([ekey, *(self._tag(t) for t in tags)])
        entry = found.get(ekey)
        if entry is not None:
            if "v" in entry:
                return ReadResult(VARY, tuple(entry["v"].split("\n")))
            if "x" in entry:
                return ReadResult(PASS)
        state, changed = MISS, ()
        if entry is not None:
            stamp = entry["s"]
            current = {t: found.get(self._tag(t)) for t in tags}
            current.update(self._tokens([t for t in stamp if t not in current]))
            changed = tuple(t for t, token in stamp.items() if current[t] != token)
            if not changed:
                now = time.time()
                fresh_until = entry.get("f", 0)
                if not fresh_until or now + entry.get("d", 0) * self.early_factor() < fresh_until:
                    return ReadResult(HIT, entry["b"], tuple(stamp) if want_tags else ())
                state = EARLY if now < fresh_until else STALE
            elif self._conf.STALE_ON_INVALIDATION:
                state = REVOKED
        seq = self._seq()
        locked = bool(lock_token) and cache.add(
            f"{self.prefix}:l:{key}", lock_token, self._conf.LOCK_TIMEOUT
        )
        current = self._ensure(tags, {t: found.get(self._tag(t)) for t in tags})
        tokens = tuple(current[t] for t in tags)
        if state == MISS:
            return ReadResult(MISS, locked=locked, seq=seq, tokens=tokens, changed=changed)
        stamp = tuple(entry["s"]) if want_tags else ()
        return ReadResult(
            state, entry["b"], stamp, locked=locked, seq=seq, tokens=tokens, changed=changed
        )

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
        current = self._tokens(dynamic)
        fresh = all(
            _seq_of(token) <= seq and not is_held(token)
            for token in current.values()
            if token is not None
        )
        if any(token is None for token in current.values()) and self._seq() != seq:
            fresh = False  # missing while the counter moved: bumped, then evicted?
        current = self._ensure(dynamic, current)
        if fresh:
            entry = {"s": {**dict(stamp), **current}, "b": value, "d": duration}
            if ttl is not None:
                entry["f"] = time.time() + ttl
                ttl += self._conf.STALE_TTL
            self._cache.set(f"{self.prefix}:e:{key}", entry, ttl)
        if lock_token:
            self.release(key, lock_token)
        return fresh

    def mark(self, key: str, field: str, value: str, ttl: float | None, lock_token: str | None):
        self._cache.set(f"{self.prefix}:e:{key}", {field: value}, ttl)
        if lock_token:
            self.release(key, lock_token)

    def release(self, key: str, lock_token: str) -> None:
        cache = self._cache
        lock = f"{self.prefix}:l:{key}"
        if cache.get(lock) == lock_token:
            cache.delete(lock)

    def delete(self, key: str) -> None:
        self._cache.delete(f"{self.prefix}:e:{key}")

    def bump(
        self, tags: Sequence[str], hold: float = 0.0, release: int = 0, until: int = 0
    ) -> None:
        if not tags:
            return
        cache = self._cache
        tags = list(dict.fromkeys(tags))
        # Still held (and not released): held again with a new value. Not atomic with the
        # write below on these backends: a hold or a release made in between is lost (the
        # module's doc lists what these backends cannot promise).
        kept = cache.get_many([self._tag(t) for t in tags])
        key = f"{self.prefix}:seq"
        cache.add(key, self.now_seed(), None)
        try:
            seq = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.add(key, self.now_seed(), None)
            seq = cache.incr(key)
        end = (until or hold_end(hold)) if hold else 0
        random = secrets.token_hex(8)
        tokens = {}
        now_ms = time.time() * 1000
        for tag in tags:
            current = kept.get(self._tag(tag))
            current_end = int(held_until(current)) if is_held(current) else 0
            # A hold never shortens one still on the tag (as bump.lua); a bump keeps a hold
            # unless it releases it.
            still = current_end > max(now_ms, end) if hold else current_end > release
            held = f"H{current_end}-" if still else (f"H{end}-" if hold else "")
            tokens[self._tag(tag)] = f"{seq}-{held}{random}"
        cache.set_many(tokens, None)
        now = time.time()
        times = {self._bumped(t): now for t in tags if t == GLOBAL or t.startswith("m:")}
        if times:
            cache.set_many(times, None)

    def _bumped(self, tag: str) -> str:
        return f"{self.prefix}:b:{tag}"

    def bump_times(self, tags: Sequence[str]) -> dict[str, float]:
        found = self._cache.get_many([self._bumped(t) for t in tags])
        return {t: found[self._bumped(t)] for t in tags if self._bumped(t) in found}

    def _stat(self, field: str, bucket: int | None = None) -> str:
        if bucket is None:
            return f"{self.prefix}:stats:{field}"
        return f"{self.prefix}:stats:{bucket}:{field}"

    def add_stats(
        self,
        counts: dict[str, int],
        recent: dict[str, int] | None = None,
        bucket: int = 0,
        keep: int = 0,
    ) -> None:
        cache = self._cache
        added = [(self._stat(f), n, None) for f, n in counts.items()]
        added += [(self._stat(f, bucket), n, keep or None) for f, n in (recent or {}).items()]
        for key, amount, timeout in added:
            if not cache.add(key, amount, timeout):
                try:
                    cache.incr(key, amount)
                except ValueError:  # evicted (or expired) between add and incr
                    cache.add(key, amount, timeout)

    def read_stats(self, fields: Sequence[str]) -> dict[str, int]:
        # The portable API cannot list keys: read the counters this process knows of.
        found = self._cache.get_many([self._stat(f) for f in fields])
        return {f: int(found[self._stat(f)]) for f in fields if self._stat(f) in found}

    def read_recent(self, buckets: Sequence[int], fields: Sequence[str]) -> dict[str, int]:
        keys = {self._stat(f, b): f for b in buckets for f in fields}
        total: dict[str, int] = {}
        for key, value in self._cache.get_many(list(keys)).items():
            total[keys[key]] = total.get(keys[key], 0) + int(value)
        return total

    @property
    def _conf(self) -> Any:
        return get_settings()
