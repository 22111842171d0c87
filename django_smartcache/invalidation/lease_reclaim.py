"""Reclaiming the writer leases of processes that stopped renewing them (``leases``).

Every flush of the outbox (``outbox``) also reads the lease rows of each server
database. A row whose ``beat`` this process has seen unchanged for ``leases.STALE``
seconds of its own monotonic clock belongs to a process that died (or lost the
database): the global tag is bumped, which covers every write that process committed
without bumping it, and the row is deleted unless it was renewed meanwhile.

One more case keeps the row: a write statement of another session still running on the
server. A worker killed while its statement waits on a lock leaves that statement to
the server, which commits it whenever the lock is released, after the global bump. So
while any write statement that has run for a second or more is in progress (or the
server does not say), the row *lingers*: every flush bumps the global tag again, and the
first flush that finds no such statement deletes it, at most ``LINGER`` seconds later.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..core.tags import GLOBAL
from . import leases

logger = logging.getLogger("django_smartcache")

LINGER = 300.0  # seconds a reclaimed lease waits for running write statements, at most

# Any statement but a read, running for a second or more, on another session.
_RUNNING = {
    "mysql": (
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' "
        "AND ID <> CONNECTION_ID() AND TIME >= 1 AND INFO IS NOT NULL "
        "AND UPPER(LTRIM(INFO)) NOT LIKE 'SELECT%%'"
    ),
    "postgresql": (
        "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "AND datname = current_database() AND query_start < now() - interval '1 second' "
        "AND query NOT ILIKE 'select%%'"
    ),
}

_lock = threading.Lock()
_seen: dict[tuple[str, Any], tuple[Any, float]] = {}  # (alias, id) -> (beat, first seen)
_lingering: dict[tuple[str, Any], float] = {}  # (alias, id) -> first reclaimed


def reclaim(conn: Any, bump: Any) -> int:
    """Bump the global tag for the leases of ``conn``'s database this process saw
    unrenewed for ``STALE`` seconds, then delete those still unrenewed (unless a write
    statement is still running). Returns how many were reclaimed. Raises."""
    if not leases.supported(conn):
        return 0
    table = leases.lease_table(conn)
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT id, beat FROM {table}")
        rows = cursor.fetchall()
    stale = _unrenewed(conn.alias, rows)
    if not stale:
        return 0
    if not bump([GLOBAL], keep=False):
        return 0  # the rows stay for the next flush
    now = time.monotonic()
    running = _writes_running(conn)
    new = [(pk, beat) for pk, beat in stale if (conn.alias, pk) not in _lingering]
    with _lock:
        for pk, _ in stale:
            _lingering.setdefault((conn.alias, pk), now)
        done = [
            (pk, beat)
            for pk, beat in stale
            if not running or now - _lingering[(conn.alias, pk)] >= LINGER
        ]
    with conn.cursor() as cursor:
        for pk, beat in done:  # unless it was renewed meanwhile (then it was only wasted)
            cursor.execute(f"DELETE FROM {table} WHERE id = %s AND beat = %s", [pk, beat])
    with _lock:
        for pk, _ in done:
            _lingering.pop((conn.alias, pk), None)
    leases.count("reclaimed", len(new))
    if new:
        logger.warning(
            "%d writer lease(s) on database %r were not renewed for %.0f s (a process died "
            "or lost the database): every cached entry was made stale, as its last writes "
            "may not have been bumped.",
            len(new),
            conn.alias,
            leases.STALE,
        )
    return len(new)


def _writes_running(conn: Any) -> bool:
    """Whether another session runs a write statement for a second or more (``True``
    when the server does not say: invalidating more is always safe)."""
    try:
        with conn.cursor() as cursor:
            cursor.execute(_RUNNING[conn.vendor])
            return bool(cursor.fetchone()[0])
    except Exception as exc:
        logger.debug("Could not list running statements on %r: %s", conn.alias, exc)
        return True


def _unrenewed(alias: str, rows: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The ``(id, beat)`` of ``rows`` this process has seen with that same ``beat`` for
    ``STALE`` seconds or more; remembers the others (and forgets rows that are gone)."""
    now = time.monotonic()
    stale, present = [], set()
    with _lock:
        for pk, beat in rows:
            key = (alias, pk)
            present.add(key)
            seen = _seen.get(key)
            if seen is None or seen[0] != beat:
                _seen[key] = (beat, now)
            elif now - seen[1] >= leases.STALE:
                stale.append((pk, beat))
        for key in [k for k in _seen if k[0] == alias and k not in present]:
            del _seen[key]
            _lingering.pop(key, None)
    return stale


def reset() -> None:
    """As in a new process (tests): no lease seen yet."""
    with _lock:
        _seen.clear()
        _lingering.clear()
