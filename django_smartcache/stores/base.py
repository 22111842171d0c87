"""What every store offers the engine: the read states, ``ReadResult`` and ``Store``.

``factory.get_store()`` picks the implementation for a cache alias.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..conf import get_settings

HIT, VARY, PASS, MISS = "hit", "vary", "pass", "miss"
STALE, EARLY = "stale", "early"  # aged out; still fresh but due for early recompute
REVOKED = "revoked"  # invalidated, offered only with STALE_ON_INVALIDATION

# The tag ``invalidate_all()`` bumps (``core.tags`` names every tag). The stores know it
# by name, as they know model tags (``m:``): both get a bump time (``Store.bump``).
GLOBAL = "g"


def hold_end(hold: float) -> int:
    """The end (epoch ms) of a hold made now for ``hold`` seconds. Computed once per hold
    and sent to every cache (``Store.bump(until=)``): the transaction's release names
    exactly its last one. Never moved ahead of the clock to make ends unique (a burst of
    holds would then outrun it, and a later release reach another process's later hold):
    two holds in the same millisecond share an end (docs: "Manual transactions")."""
    return int((time.time() + hold) * 1000)


class ReadResult(NamedTuple):
    """What a read found; ``tokens`` line up with the static tags asked for.

    For STALE, EARLY and REVOKED, ``value`` holds the old payload and the other fields
    are those of a miss: whoever got the lock recomputes, the others serve it.
    ``changed`` names the tags of an entry found invalidated (REVOKED, or a MISS that
    found one): those whose token was not the one it was stamped with (the statistics
    tell which writes keep invalidating an entry).
    """

    state: str
    value: Any = None
    tags: tuple[str, ...] = ()
    locked: bool = False
    seq: int = 0
    tokens: tuple[Any, ...] = ()
    changed: tuple[str, ...] = ()


class Store:
    """The operations the engine needs; subclasses implement them for a backend."""

    def __init__(self, alias: str, cache: Any, prefix: str) -> None:
        self.alias = alias
        self.cache = cache
        self.prefix = prefix

    def read(
        self, key: str, tags: Sequence[str], *, lock_token: str | None, want_tags: bool
    ) -> ReadResult:
        raise NotImplementedError

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
        """Store ``value`` unless a dynamic tag was bumped after ``seq``; free the lock.

        ``ttl`` is how long it is fresh; it stays readable as STALE for
        ``STALE_TTL`` more seconds. ``duration`` is how long it took to compute.
        """
        raise NotImplementedError

    def mark(self, key: str, field: str, value: str, ttl: float | None, lock_token: str | None):
        """Replace the entry by a Vary manifest (``"v"``) or a pass marker (``"x"``)."""
        raise NotImplementedError

    def release(self, key: str, lock_token: str) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Drop one entry."""
        raise NotImplementedError

    def bump(
        self, tags: Sequence[str], hold: float = 0.0, release: int = 0, until: int = 0
    ) -> None:
        """Give every tag a new token (one atomic step where the backend allows).

        Model tags (``m:...``) and the global tag also record when they were bumped
        (see ``bump_times``), in the same step. With ``hold`` (seconds), the new
        tokens are *held* (``is_held``): no entry is stored with them, and they
        expire after ``hold``. A plain bump keeps a held token held (with a new value:
        another write to the tag must not end a hold whose commit is not seen yet);
        ``release`` (epoch ms) ends the holds that end by then: the holding transaction's
        own bump passes the end of its last hold, so a hold set later (by a transaction
        that wrote after it) stays. ``until``: the hold's end (epoch ms) when the caller
        fixed it (``hold_end``: one end for every cache, the one its release names);
        without it, ``hold_end(hold)``.
        """
        raise NotImplementedError

    def bump_times(self, tags: Sequence[str]) -> dict[str, float]:
        """When each of ``tags`` (model tags or ``g``) was last bumped, as Unix times."""
        raise NotImplementedError

    def add_stats(
        self,
        counts: dict[str, int],
        recent: dict[str, int] | None = None,
        bucket: int = 0,
        keep: int = 0,
    ) -> None:
        """Add per-process counters to the shared ones, and ``recent`` to those of time
        bucket ``bucket``, which expire ``keep`` seconds after (one round trip where
        possible)."""
        raise NotImplementedError

    def read_stats(self, fields: Sequence[str]) -> dict[str, int]:
        """The shared counters: all of them where the backend can list them, else ``fields``."""
        raise NotImplementedError

    def read_recent(self, buckets: Sequence[int], fields: Sequence[str]) -> dict[str, int]:
        """The counters of ``buckets`` summed (all of them, or ``fields`` as ``read_stats``)."""
        raise NotImplementedError

    @staticmethod
    def early_factor() -> float:
        """XFetch: how many compute-durations early this read treats an entry as due."""
        beta = get_settings().XFETCH_BETA
        return -beta * math.log(1.0 - random.random()) if beta else 0.0

    @staticmethod
    def new_token() -> str:
        return "0-" + secrets.token_hex(8)

    @staticmethod
    def now_seed() -> int:
        """Seed for a missing counter: above any value a lost counter could have had."""
        return time.time_ns() // 1000


def held_until(token: Any) -> str:
    """The ``until`` (epoch ms) of a held token."""
    text = token.decode() if isinstance(token, bytes) else str(token)
    return text.partition("-H")[2].partition("-")[0]


def is_held(token: Any) -> bool:
    """Whether ``token`` is held: its tag was written by a commit not yet seen (a held
    token, ``<seq>-H<until ms>-<random>``, whose ``until`` has not passed)."""
    if token is None:
        return False
    text = token.decode() if isinstance(token, bytes) else str(token)
    _, held, rest = text.partition("-H")
    if not held:
        return False
    until = rest.partition("-")[0]
    return not until.isdigit() or time.time() * 1000 < int(until)
