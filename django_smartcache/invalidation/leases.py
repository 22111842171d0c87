"""Crash cover for autocommit writes on a server database: one lease row per process.

An autocommit write used to commit an outbox row with its statement (``BEGIN``, the
row, the statement, ``COMMIT``: three round trips more than the write itself) so that a
process dying between the commit and the bump could not lose the bump. A lease covers
all of a process's autocommit writes to a database with one row instead:

* the process inserts a :class:`~django_smartcache.models.WriterLease` row before it
  relies on it, and a daemon thread renews it every ``BEAT`` seconds (``beat`` is set
  to the database's clock: a value that changes at each renewal);
* while the last successful renewal was *sent* less than ``VALID`` seconds ago, an
  autocommit write runs as it would without the app, and is bumped right after;
* a process whose flushes see a lease's ``beat`` unchanged for ``STALE`` seconds of its
  own monotonic clock bumps the global tag: every entry becomes stale, which covers
  every write of the process that stopped renewing it (it died, or lost the database),
  then deletes the row, only if it was still not renewed (a late renewal keeps it,
  after an invalidation that was merely wasted).

Why a write is covered: a lease is reclaimed only by a process that saw its ``beat``
unchanged since a moment ``o`` at least ``STALE`` seconds earlier, so the renewal the
holder last relied on was executed, hence sent, before ``o``; a write relies on a
renewal sent less than ``VALID`` before the write's statement returned (checked again
after it returns, see ``still_valid``). ``VALID < STALE``, so any reclaim happens after
the write committed, and its global bump covers it. Only durations are compared, each on
one process's monotonic clock: no wall clock, neither the app servers' nor the
database's, can make a live lease look stale. A process that is alive bumps its own
writes (a bump that
does not land gets an outbox row at once). A write whose lease is not valid takes the
outbox path (``autocommit``). The cost is a little work per ``BEAT`` per writing process
(one ``UPDATE``), and a whole-cache invalidation when a process dies without exiting
(``atexit`` deletes the rows of a process that exits cleanly).

Leases are used on MySQL/MariaDB and PostgreSQL (not SQLite: one writer per file; a
renewal would contend with the app's writes), and work behind poolers: no session state.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

from django.db import connections

logger = logging.getLogger("django_smartcache")

BEAT = 1.0  # seconds between renewals
VALID = 2.5 * BEAT  # a write may rely on a renewal sent less than this long ago
STALE = 4.0 * BEAT  # a flush reclaims a lease it saw unrenewed for this long (its own clock)
IDLE = 60.0  # seconds without a covered write after which the lease is given up
# The database clock, in UTC on MySQL (a DATETIME column: no DST jump in local time).
_NOW = {"mysql": "UTC_TIMESTAMP(6)", "postgresql": "CURRENT_TIMESTAMP"}


class _Lease:
    """This process's lease on one database."""

    __slots__ = ("alias", "id", "confirmed", "used", "conn")

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.id: Any = None  # the row's id once inserted
        self.confirmed = float("-inf")  # monotonic send time of the last good renewal
        self.used = time.monotonic()  # the last write that asked for it
        self.conn: Any = None  # the renewing thread's own connection


_leases: dict[str, _Lease] = {}
_lock = threading.Lock()
_wake = threading.Event()
_thread: list[Any] = [None, 0]  # the renewing thread, and the pid that started it
_warned: set[str] = set()
_counts = {"acquired": 0, "renewed": 0, "lost": 0, "reclaimed": 0}
_inflight = [0]  # leased writes between their statement and their bump (this process)


def _model():
    from ..models import WriterLease

    return WriterLease


def supported(connection: Any) -> bool:
    """Whether ``connection``'s database can hold a lease."""
    return connection.vendor in _NOW


def valid(alias: str) -> Any:
    """The lease row this process may rely on for a write to ``alias`` starting now, or
    ``None``.

    Asks the renewing thread for a lease when there is none (the write takes the outbox
    path meanwhile). Costs a dictionary lookup and a clock read.
    """
    lease = _leases.get(alias)
    now = time.monotonic()
    if lease is None or _thread[1] != os.getpid():
        _want(alias)
        return None
    lease.used = now
    return lease.id if now - lease.confirmed < VALID else None


def still_valid(alias: str, row: Any) -> bool:
    """Whether a write that relied on lease ``row`` and has just returned is covered:
    the same row, renewed less than ``VALID`` ago (so not reclaimed before the commit)."""
    lease = _leases.get(alias)
    return lease is not None and lease.id == row and time.monotonic() - lease.confirmed < VALID


def enter() -> None:
    """A write relying on the lease is about to run: until ``leave()``, an exit keeps the
    lease rows (to be reclaimed), as the bump this write owes may never land."""
    with _lock:
        _inflight[0] += 1


def leave() -> None:
    """The write's bump was made (or it is covered otherwise)."""
    with _lock:
        _inflight[0] -= 1


def _want(alias: str) -> None:
    with _lock:
        if _thread[1] != os.getpid():  # a forked child: the parent's leases are not ours
            _leases.clear()
            _inflight[0] = 0  # the parent's writes in flight are not ours either
            _thread[:] = [None, os.getpid()]
        if alias not in _leases:
            _leases[alias] = _Lease(alias)
        thread = _thread[0]
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=_renew_loop, name="smartcache-lease", daemon=True)
            _thread[0] = thread
            thread.start()
    _wake.set()


def _renew_loop() -> None:
    me = threading.current_thread()
    while _thread[0] is me:
        for lease in list(_leases.values()):
            if _leases.get(lease.alias) is lease:
                _renew(lease)
        _wake.wait(BEAT)
        _wake.clear()


def _cursor(lease: _Lease) -> Any:
    # Kept open while the lease is held (closed on an error, reopened at the next beat):
    # CONN_MAX_AGE is about requests, which this thread does not serve.
    if lease.conn is None:
        lease.conn = connections.create_connection(lease.alias)
        lease.conn.inc_thread_sharing()  # given up (closed) by whichever thread exits
    lease.conn.ensure_connection()
    return lease.conn.connection.cursor()  # the DB-API cursor: not watched, not logged


def _renew(lease: _Lease) -> None:
    """Insert, renew or give up ``lease``'s row. Never raises."""
    sent = time.monotonic()
    try:
        cursor = _cursor(lease)
        table, now = lease_table(lease.conn), _NOW[lease.conn.vendor]
        try:
            if sent - lease.used > IDLE and _forget_idle(lease):  # no write needed it lately
                # Forgotten first (no write relies on it from now on: ``still_valid``),
                # and only with no leased write in flight, then deleted.
                if lease.id is not None:
                    cursor.execute(f"DELETE FROM {table} WHERE id = %s", [lease.id])
                _close(lease)
                return
            if lease.id is not None:
                cursor.execute(f"UPDATE {table} SET beat = {now} WHERE id = %s", [lease.id])
                if cursor.rowcount == 1:
                    lease.confirmed = sent
                    _counts["renewed"] += 1
                    return
                _counts["lost"] += 1  # reclaimed (it was not renewed in time): a new one
                lease.confirmed, lease.id = float("-inf"), None
            lease.id = _insert(lease.conn, cursor, table, now)
            lease.confirmed = sent
            _counts["acquired"] += 1
        finally:
            cursor.close()
    except Exception as exc:
        level = logging.DEBUG if lease.alias in _warned else logging.WARNING
        _warned.add(lease.alias)
        logger.log(
            level,
            "Writer lease on database %r not renewed (%s: %s); autocommit writes there "
            "use the outbox meanwhile (run `manage.py migrate` if the table is missing).",
            lease.alias,
            type(exc).__name__,
            exc,
        )
        _close(lease)


def _forget_idle(lease: _Lease) -> bool:
    """Stop relying on an idle ``lease``, unless a write asked for it meanwhile or a
    leased write still owes its bump (its row must stay until that bump, or a reclaim)."""
    with _lock:
        if time.monotonic() - lease.used <= IDLE or _inflight[0] > 0:
            return False
        if _leases.get(lease.alias) is lease:
            del _leases[lease.alias]
        lease.confirmed = float("-inf")
        return True


def _insert(conn: Any, cursor: Any, table: str, now: str) -> Any:
    sql = f"INSERT INTO {table} (pid, beat) VALUES (%s, {now})"
    if conn.vendor == "postgresql":
        cursor.execute(f"{sql} RETURNING id", [os.getpid()])
        return cursor.fetchone()[0]
    cursor.execute(sql, [os.getpid()])
    return cursor.lastrowid


def _close(lease: _Lease) -> None:
    if lease.conn is not None:
        with contextlib.suppress(Exception):
            lease.conn.close()
        lease.conn = None


def lease_table(connection: Any) -> str:
    return connection.ops.quote_name(_model()._meta.db_table)


def give_up(keep_rows: bool = False) -> None:
    """Delete this process's lease rows (``keep_rows``: leave them to be reclaimed, when
    bumps of this process did not land) and stop renewing: at exit, and in tests for a
    fresh process. Never raises."""
    with _lock:
        mine = list(_leases.values()) if _thread[1] == os.getpid() else []
        _leases.clear()  # from now on no write relies on them (``still_valid``)
        thread, _thread[0] = _thread[0], None
        # A thread between a leased statement and its bump (a daemon thread at exit is
        # frozen there): the row stays, so that a reclaim covers that write.
        keep_rows = keep_rows or (_inflight[0] > 0 and _thread[1] == os.getpid())
    _wake.set()
    if thread is not None and thread is not threading.current_thread():
        thread.join(5)  # it stops after its current renewal: no connection reopened later
    for lease in mine:
        if lease.id is not None and not keep_rows:
            with contextlib.suppress(Exception):
                cursor = _cursor(lease)
                cursor.execute(f"DELETE FROM {lease_table(lease.conn)} WHERE id = %s", [lease.id])
                cursor.close()
        _close(lease)


def reset() -> None:
    """As in a new process (tests): no lease, counters at zero."""
    give_up()
    _inflight[0] = 0
    _warned.clear()
    for name in _counts:
        _counts[name] = 0


def count(name: str, n: int = 1) -> None:
    """Add ``n`` to counter ``name`` (``counters()``)."""
    _counts[name] += n


def counters() -> dict[str, int]:
    """This process's lease figures: acquired, renewed, lost, reclaimed (from others)."""
    return dict(_counts)


def wait_until_valid(alias: str, timeout: float = 5.0) -> bool:
    """Ask for a lease on ``alias`` and wait until it may be relied on (tests, warm-up)."""
    deadline = time.monotonic() + timeout
    while not valid(alias):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
