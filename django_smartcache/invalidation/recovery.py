"""Recovery: bumps that did not land are sent before this process serves another hit.

``guarded_lookup()`` is the engine's ``lookup()`` as the front ends use it: behind the
cache alias's breaker, after the bumps this thread's manual transactions held
(``bumps.settle``), the outbox flush when one is due (``check``) and the retry of this
process's own pending bumps (``pending_ok``). The outbox table itself is ``outbox``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import connections
from django.utils import timezone

from ..conf import get_settings, on_settings_change
from ..core.breaker import breaker
from ..core.engine import Fill, lookup
from ..stores.base import ReadResult
from ..stores.factory import get_store
from . import autocommit, backlog, bumps, lease_reclaim, leases, outbox
from .bumps import settle

GRACE = 1.0  # seconds a periodic flush leaves a new row to the process that wrote it
WAIT = 1.0  # seconds a request waits for another thread's first or recovery flush
ROUNDS = 20  # flush queries per database per flush, at most

_flush_lock = threading.Lock()  # one flush at a time in this process
_next_check = 0.0  # monotonic time of the next periodic flush; 0.0 = not flushed yet
_last_full = 0.0  # monotonic time the last flush of every row started


def guarded_lookup(
    alias: str, key: str, tags: Sequence[str], *, wait: bool = True
) -> tuple[ReadResult, Fill | None] | None:
    """``lookup()`` behind the alias's breaker; ``None`` means: bypass the cache.

    Bypass when the breaker is open, when an invalidation for ``alias`` is still
    pending, or when reading fails (which the breaker records).
    """
    if not may_serve(alias):
        return None
    guard = breaker(alias)
    try:
        found = lookup(get_store(alias), key, tags, wait=wait)
    except Exception as exc:
        guard.failed(exc, "reading")
        return None
    guard.succeeded()
    return found


def may_serve(alias: str) -> bool:
    """Whether this request may serve from ``alias`` now: this thread's committed manual
    transactions bumped first, the breaker closed, no invalidation pending."""
    settle()  # a manual transaction of this thread committed: its bump first
    return breaker(alias).allow() and pending_ok(alias)


def pending_ok(alias: str) -> bool:
    """Whether this request may serve hits from ``alias`` (call it after ``allow()``).

    Flushes the outbox first when that is due (first use, the breaker probing after
    an outage, or every ``OUTBOX_INTERVAL``), then retries this process's own
    pending bumps. False while a bump for ``alias`` has not landed.
    """
    guard = breaker(alias)
    if not check(alias if guard.recovering else None):
        return False
    return bumps.retry(alias)


def check(recovering: str | None = None) -> bool:
    """Flush the outbox when due; ``False`` when this request must not serve hits.

    Due on the first call in the process, when ``recovering`` names a cache whose
    breaker is probing after an outage, and every ``OUTBOX_INTERVAL`` seconds. While
    a due flush runs, the process's other requests wait for it (up to ``WAIT``
    seconds; then they bypass the cache after a first or recovery flush, and go on
    after a periodic one).
    """
    global _next_check, _last_full
    asked = time.monotonic()
    if recovering is None and asked < _next_check:
        return True  # the hit path: one clock read, one comparison
    conf = get_settings()
    if not conf.OUTBOX or outbox.quieted():
        return True
    first = _next_check == 0.0
    everything = bool(first or recovering)
    if not _flush_lock.acquire(timeout=WAIT):
        return not everything
    try:
        if first and _next_check != 0.0:
            return True  # another thread did the first flush meanwhile
        if not everything and time.monotonic() < _next_check:
            return True
        if recovering and _last_full > asked:
            return True  # a full flush started after this request arrived
        started = time.monotonic()
        flush(everything=everything, force=recovering)
        if everything:
            _last_full = started
        _next_check = time.monotonic() + conf.OUTBOX_INTERVAL
    finally:
        _flush_lock.release()
    return True


def flush(*, everything: bool = True, force: str | None = None) -> int:
    """Bump the tags of the outbox rows of every database, then delete those rows.

    ``everything=False`` leaves rows younger than ``GRACE`` seconds (their writer is
    normally bumping them now). ``force`` names a cache alias to try even though its
    breaker is open (the probe's). Rows stay when the bump does not land everywhere.
    Returns the number of rows deleted. Errors are logged, never raised.
    """
    done = 0
    with outbox.quiet():  # the bump may read the cache (write-through): no flush inside a flush
        for alias in outbox.databases():
            try:
                flushed, landed = _flush_database(alias, everything, force, bumps.bump)
            except Exception as exc:
                outbox.warn_once(alias, "flushing the outbox", exc)
                continue
            done += flushed
            if not landed:
                break  # the cache did not answer: do not wait on it again for the next one
    outbox.tally("flushes")
    return done


def _flush_database(alias: str, everything: bool, force: str | None, bump: Any) -> tuple[int, bool]:
    """Flush one database: ``(rows deleted, whether every bump landed)``; then reclaim
    the writer leases of processes that stopped renewing them (``leases``)."""
    done, landed = _flush_rows(alias, everything, force, bump)
    if landed and leases.supported(connections[alias]):
        try:
            with outbox.private(alias) as conn:
                lease_reclaim.reclaim(conn, partial(bump, force=force))
        except Exception as exc:
            outbox.warn_once(alias, "reclaiming writer leases", exc)
    return done, landed


def _flush_rows(alias: str, everything: bool, force: str | None, bump: Any) -> tuple[int, bool]:
    model = outbox._model()  # the table's model (imported once the app registry is ready)
    grace = min(GRACE, get_settings().OUTBOX_INTERVAL)
    main = connections[alias]
    if main.vendor == "sqlite":
        # One writer per file: a second connection would wait on any lock this thread
        # holds. Outside a transaction, this thread's own connection sees only committed
        # rows; inside one (atomic or manual), it would see its own uncommitted rows, and
        # bumping them would end a manual transaction's hold before its commit: later.
        if main.in_atomic_block or not main.get_autocommit():
            return 0, True
        use = partial(nullcontext, main)
    else:
        use = partial(outbox.private, alias)
    backlog.tidy_database(alias)  # this process's acknowledged rows: deleted, never bumped
    done = 0
    for _ in range(ROUNDS):
        query = model._base_manager.order_by("pk")
        if not everything:
            query = query.filter(created__lt=timezone.now() - timedelta(seconds=grace))
        query = query.values_list("pk", "tags")[: outbox.BATCH]
        with use() as conn:
            sql, params = query.query.get_compiler(connection=conn).as_sql()
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        if not rows:
            return done, True
        tags = sorted({tag for _, text in rows for tag in text.split()})
        if not bump(tags, force=force, keep=False):
            return done, False  # kept for the next flush; the in-process retry has them too
        with use() as conn:
            outbox.delete(conn, [pk for pk, _ in rows])
        done += len(rows)
        outbox.tally("flushed", len(rows))
        if len(rows) < outbox.BATCH:
            return done, True
    return done, True


def reset() -> None:
    """Forget per-process state, as in a new process (tests): also the autocommit backlog."""
    autocommit.reset()
    leases.reset()
    lease_reclaim.reset()
    outbox.forget()  # (a settings change calls only this and _rewind: the backlog's rows stay)
    _rewind()


@on_settings_change
def _rewind() -> None:
    """Flush again as on first use (settings changed)."""
    global _next_check, _last_full
    _next_check = _last_full = 0.0
