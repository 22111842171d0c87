"""Reading a stamped entry: what both Redis stores do once they have the bytes.

An entry (``<prefix>sc:e:<key>``) is a header (fresh until, compute time, its stamp of
tag/token pairs) and a body. A read fetches it with the current tokens of the declared
tags and of the run-time tags this process saw on it before (*learned*), serves it only
when every token of its stamp is current, and otherwise takes the fill lock. Where the
bytes come from is the store's: one ``MGET`` on a single Redis (``redis_store``), the
entry node and the tag node at once on a cluster (``cluster_store``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..conf import get_settings
from .base import EARLY, HIT, MISS, PASS, REVOKED, STALE, VARY, ReadResult, Store
from .local import NOT_SHARED

LEARNED_MAX = 10_000  # keys whose run-time tags this process remembers


class StampedStore(Store):
    """A store whose entries carry their stamp and are checked on the client.

    Subclasses provide ``_fetch`` (the entry and the tokens, in one round trip of wall
    time), ``_fetch_tags`` (more tokens) and ``_lock`` (the fill lock and the tokens to
    stamp with).
    """

    _learned: dict[str, tuple[str, ...]]
    _decode: Any

    def _fetch(
        self, key: str, tags: Sequence[str], learned: Sequence[str]
    ) -> tuple[bytes | None, list[Any]]:
        """The raw entry of ``key`` and the tokens of ``tags`` then ``learned``."""
        raise NotImplementedError

    def _fetch_tags(self, names: Sequence[str]) -> list[Any]:
        """The current tokens of ``names``."""
        raise NotImplementedError

    def _lock(
        self, key: str, tags: Sequence[str], lock_token: str | None, seen: bytes, compare: bool
    ) -> list:
        raise NotImplementedError

    def _local_tier(self) -> Any:
        """The process-local tier of this store's alias, if on (``local``)."""
        return None

    def read(
        self, key: str, tags: Sequence[str], *, lock_token: str | None, want_tags: bool
    ) -> ReadResult:
        """The entry and its tags' tokens in one round trip; on a miss, one more to lock.

        With the local tier on, a copy it keeps is served first (no round trip); an entry
        found valid in Redis is offered to it."""
        tier = self._local_tier()
        mark = None
        if tier is not None:
            copy = tier.get(key, tags)
            if copy is not None:
                value = copy.value if copy.value is not NOT_SHARED else self._decode(copy.body)
                return ReadResult(HIT, value, copy.stamp if want_tags else ())
            mark = tier.mark()
        local = (tier, mark) if mark is not None else None
        for _ in range(3):
            found = self._read_once(key, tags, lock_token, want_tags, local=local)
            if found is not None:
                return found
        # The entry keeps changing under us: compute without the lock rather than spin
        # (the tokens are still read before computing, so what it stores is checked).
        found = self._read_once(key, tags, None, want_tags, compare=False)
        assert found is not None  # without the comparison the lock always answers
        return found

    def _read_once(
        self,
        key: str,
        tags: Sequence[str],
        lock_token: str | None,
        want_tags: bool,
        compare: bool = True,
        local: tuple[Any, int] | None = None,
    ) -> ReadResult | None:
        learned = self._learned.get(key, ())
        raw, values = self._fetch(key, tags, learned)
        state, old, stamp, changed = MISS, None, (), ()
        if raw is not None:
            kind = raw[:1]
            if kind == b"V":
                return ReadResult(VARY, tuple(raw[1:].decode().split("\n")))
            if kind == b"X":
                return ReadResult(PASS)
            head, _, body = raw[1:].partition(b"\0")
            fresh_until, duration, stamp_text = head.split(b"\t", 2)
            parts = stamp_text.split(b"\n")
            requested = [*(t.encode() for t in tags), *(t.encode() for t in learned)]
            current = dict(zip(requested, values, strict=True))
            unknown = [name for name in parts[0::2] if name not in current]
            if unknown:  # dependencies found at run time: fetched once more, then learned
                names = [n.decode() for n in unknown]
                current.update(zip(unknown, self._fetch_tags(names), strict=True))
                self._learn(key, names)
            pairs = zip(parts[0::2], parts[1::2], strict=True)
            changed = tuple(n.decode() for n, t in pairs if current[n] != t)
            if not changed:
                fresh_ms = int(fresh_until)
                now_ms = time.time() * 1000
                due = now_ms + int(duration) * self.early_factor() if int(duration) else now_ms
                if not fresh_ms or due < fresh_ms:
                    names = tuple(n.decode() for n in parts[0::2])
                    value = self._decode(body)
                    if local is not None:
                        local[0].put(key, body, names, fresh_ms, local[1], value)
                    return ReadResult(HIT, value, names if want_tags else ())
                state = EARLY if now_ms < fresh_ms else STALE
            elif get_settings().STALE_ON_INVALIDATION:
                state = REVOKED
            if state != MISS:
                old = self._decode(body)
                stamp = tuple(n.decode() for n in parts[0::2]) if want_tags else ()
        out = self._lock(key, tags, lock_token, raw[:64] if raw is not None else b"", compare)
        if out[0] == -1:
            return None  # stored by someone else since our read
        return ReadResult(
            state,
            old,
            stamp,
            locked=out[0] == 1,
            seq=int(out[1]),
            tokens=tuple(out[2:]),
            changed=changed,
        )

    def _learn(self, key: str, names: Sequence[str]) -> None:
        """Remember run-time tags of ``key`` so the next hit fetches them at once."""
        if len(self._learned) >= LEARNED_MAX:
            self._learned.clear()
        self._learned[key] = tuple(dict.fromkeys((*self._learned.get(key, ()), *names)))
