"""Read an entry or take the right to compute it, then store what was computed.

The sequence for every kind of entry (page, fragment, function result):

1. ``lookup()``: one round trip returns a valid entry, or, on a miss, the
   current tokens of the static tags, the invalidation counter and the
   per-entry lock. Processes that did not get the lock poll for the winner's
   result for up to ``LOCK_WAIT`` seconds (single flight).
2. ``Fill.run()``: the computation runs inside a dependency frame, stamped with
   the tokens read *before* it started, while ``privacy.watching`` notes what it
   read of the visitor (``Fill.reads``); the front end decides whether that lets
   it be shared.
3. ``Fill.save()``: one round trip stores the entry unless a dependency
   discovered during the computation was invalidated after it started.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..conf import get_settings
from ..stores.base import EARLY, HIT, MISS, PASS, REVOKED, STALE, VARY, ReadResult, Store, is_held
from .context import active, computing, record
from .privacy import watching
from .snapshots import snapshot_may_predate
from .tags import compact_rows, label_of

_OLD = (STALE, EARLY, REVOKED)  # states that carry an old copy

T = TypeVar("T")


def ttl_with_jitter(timeout: float | None) -> float | None:
    """Spread expiries by +-``JITTER`` so entries filled together expire apart."""
    if timeout is None:
        return None
    jitter = get_settings().JITTER
    return timeout * (1 + random.uniform(-jitter, jitter)) if jitter else timeout


class Fill:
    """The right (or the duty) to compute one missing entry."""

    def __init__(self, store: Store, key: str, tags: Sequence[str], found: ReadResult, lock: str):
        self.store = store
        self.key = key
        self.stamp = list(zip(tags, found.tokens, strict=True))
        self.static = set(tags)
        self.seq = found.seq
        # A held token (a write whose commit is not seen yet) or a snapshot that may
        # predate the tokens: what is computed now cannot be proven fresh.
        self.unprovable = any(is_held(t) for t in found.tokens) or snapshot_may_predate()
        self.lock = lock if found.locked else None
        # The aged-out copy this fill replaces, for stale-if-error.
        self.stale = found.value if found.state in _OLD else None
        self.stale_tags = found.tags
        # The tags whose change made the old entry invalid (none: it was missing or aged out).
        self.changed = found.changed
        self.discovered: list[str] = []
        self.captured: frozenset[str] = frozenset()  # models captured from its queries
        # Models found at run time otherwise: depend_on(), inner entries' dependencies.
        self.found_at_run_time: frozenset[str] = frozenset()
        self.reads: frozenset[str] = frozenset()
        self.duration = 0.0

    def run(self, compute: Callable[[], T], request: Any = None) -> T:
        """Run ``compute`` collecting the dependencies it discovers and what it reads
        of the visitor (of ``request`` and of every request already in play)."""
        started = time.monotonic()
        frame = None
        try:
            with computing() as frame, watching(request):
                return compute()
        finally:
            self.duration = time.monotonic() - started
            if frame is not None:
                self.discovered = compact_rows([t for t in frame.tags if t not in self.static])
                self.captured = frozenset(frame.captured)
                others = (label_of(t) for t in frame.tags if t not in frame.captured_tags)
                self.found_at_run_time = frozenset(o for o in others if o)
                self.reads = frozenset(frame.reads)
            # Discovered tags already reached enclosing frames; add our static ones.
            record(self.static)

    def save(self, key: str, value: Any, timeout: float | None) -> bool:
        """Store ``value`` under ``key`` (normally ``self.key``); free the lock.

        Returns whether it was stored: not when it cannot be proven fresh.
        """
        if self.unprovable:
            self.release()
            return False
        lock = self.lock if key == self.key else None
        stored = self.store.write(
            key,
            value,
            stamp=self.stamp,
            dynamic=self.discovered,
            seq=self.seq,
            ttl=ttl_with_jitter(timeout),
            lock_token=lock,
            duration=self.duration,
        )
        if lock:
            self.lock = None  # the store freed it, stored or not
        return stored

    def mark(self, field: str, value: str, ttl: float | None) -> None:
        """Turn ``self.key`` into a Vary manifest or a pass marker; free the lock."""
        self.store.mark(self.key, field, value, ttl, self.lock)
        self.lock = None

    def release(self) -> None:
        if self.lock:
            self.store.release(self.key, self.lock)
            self.lock = None


def lookup(
    store: Store, key: str, tags: Sequence[str], *, wait: bool = True
) -> tuple[ReadResult, Fill | None]:
    """Return ``(result, None)`` when there is something to serve; else a :class:`Fill`.

    Served without computing: a hit, a Vary manifest, a pass marker, and an
    aged-out (STALE) or due-early (EARLY) entry whose lock another process
    holds: that process recomputes while this one serves the old copy. With
    ``wait``, a process that finds nothing and no lock polls for the winner's
    result up to ``LOCK_WAIT`` seconds before computing itself.
    """
    conf = get_settings()
    lock = os.urandom(8).hex()  # secrets.token_hex(8), without its two calls
    want_tags = active()
    found = _read(store, key, tags, lock, want_tags)
    if wait and found.state == MISS and not found.locked and conf.LOCK_WAIT:
        deadline = time.monotonic() + conf.LOCK_WAIT
        while found.state == MISS and not found.locked and time.monotonic() < deadline:
            time.sleep(conf.LOCK_POLL * random.uniform(0.5, 1.5))
            found = _read(store, key, tags, lock, want_tags)
    if found.state in (HIT, VARY, PASS) or (found.state in _OLD and not found.locked):
        if want_tags and found.tags:
            record(found.tags)
        return found, None
    return found, Fill(store, key, tags, found, lock)


def served_as(found: ReadResult, fill: Fill | None) -> str | None:
    """``"HIT"`` or ``"STALE"`` when ``found`` is to be served without computing."""
    if fill is None:
        if found.state in (HIT, EARLY):
            return "HIT"
        if found.state in (STALE, REVOKED):
            return "STALE"  # another process is recomputing it
    return None


def _read(store: Store, key: str, tags: Sequence[str], lock: str, want_tags: bool) -> ReadResult:
    found = store.read(key, tags, lock_token=lock, want_tags=want_tags)
    if want_tags and found.state == REVOKED:
        # An invalidated copy (STALE_ON_INVALIDATION) must not flow into an entry being
        # computed around it: that entry would be stamped fresh. Compute instead.
        return found._replace(state=MISS, value=None)
    return found
