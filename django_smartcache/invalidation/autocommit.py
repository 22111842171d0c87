"""Autocommit writes: under the writer lease, or with an outbox row in one transaction.

On MySQL/MariaDB and PostgreSQL, a process holding a valid writer lease (``leases``)
runs a tracked autocommit statement alone, then bumps: no outbox row, no extra round
trip; the lease covers a crash between the commit and the bump. Otherwise (SQLite, or
while the lease is not valid) a tracked statement run in autocommit (no atomic block,
no manual transaction) is run as

1. ``BEGIN`` (on the DB-API connection; Django still sees autocommit, and nothing else
   runs on this connection meanwhile: the thread is inside ``cursor.execute``);
2. ``INSERT`` of its outbox row (the statement's exact tags; widened to the model past
   ``EXACT`` row tags);
3. the statement itself;
4. ``COMMIT``: the row and the data are committed together, or neither is;
5. the bump (``bumps.bump_written``); once it has landed, the row is
   *acknowledged*: only its id is kept, in this process's backlog;
6. later, the backlog is deleted in batches (``DELETE ... WHERE id IN (...)``).

Why each step is safe:

* **Crash after commit.** The row was committed with the data (step 4), so whatever
  happens after (the process dies, Redis does not answer), any process's flush finds it
  and bumps its tags. Nothing can delete it before it is committed: other connections
  do not see uncommitted rows.
* **Nothing committed, nothing left.** A statement that fails (or is interrupted) is
  rolled back with its row, as the statement alone would have had no effect in
  autocommit. A ``COMMIT`` that fails leaves both or neither (one transaction); if both
  (a lost connection), the row is flushed later.
* **An acknowledged row that is still there** (the backlog is not deleted yet, or was
  lost with the process) is bumped again by whoever flushes it: bumps are idempotent,
  and invalidating more is always safe. This process deletes its own backlog before it
  flushes, so it never bumps it; other processes see it only in a first or recovery
  flush (which takes every row), or if it outlives ``GRACE``, which the deleter's
  ``LAZY`` delay stays well below.
* **Bounded backlog** (``backlog``). Acknowledged ids are deleted ``LAZY`` seconds
  after the first of a batch (on a server database, by a daemon thread on the outbox's
  own connection, off the request path); on SQLite (one writer per file: no second
  connection) in the next tracked write's transaction, before this process flushes, and
  at the end of each request. Past ``BACKLOG`` ids, the writer deletes them itself.

Statements that must not run inside a transaction are left to the older path (row
inserted and committed first, then the statement; the row is still acknowledged and
deleted lazily): anything but ``INSERT``/``UPDATE``/``DELETE``/``REPLACE``/``MERGE``/
``WITH`` (DDL, ``TRUNCATE``, ``VACUUM``...), several statements in one call, and
``RETURNING`` on SQLite (its rows are read after the wrapper returns, and SQLite cannot
commit while they are pending). So does a write whose ``BEGIN`` or ``INSERT`` failed, and
every write once a database has refused ``BEGIN`` three times (a PgBouncer in statement
mode; logged once).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

from ..conf import get_settings
from . import backlog, leases, outbox

EXACT = 8  # row tags an autocommit row keeps exactly (more: widened to the model)

_FIRST = re.compile(r"\s*(\w+)")
_SHAREABLE = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "WITH"})
REFUSALS = 3  # failed BEGINs after which a database gets the older path only
_failed: dict[str, int] = {}  # alias -> failed BEGINs
_refused: set[str] = set()  # aliases that refused BEGIN REFUSALS times: older path


def shareable(connection: Any, sql: str) -> bool:
    """Whether ``sql`` may share a transaction with its outbox row."""
    match = _FIRST.match(sql)
    if match is None or match.group(1).upper() not in _SHAREABLE or ";" in sql:
        return False
    if connection.vendor == "sqlite" and "RETURNING" in sql.upper():
        return False
    return connection.alias not in _refused


LEASED = outbox.Row(None, frozenset())  # the write is covered by this process's lease


def write(
    connection: Any,
    sql: str,
    tags: list[str],
    run: Callable[[], Any],
    *,
    bump_failed: Callable[[list[str], Any, Any], None],
) -> tuple[Any, Any]:
    """Run the statement (``run()``) with its cover: ``(result, row)``, where ``row`` is
    its outbox row, ``LEASED`` (this process's lease covers it) or ``None``.

    A statement that raises outside a transaction is bumped anyway, with
    ``bump_failed(tags, connection, row)`` (``bumps.bump_written``, passed in: bumps
    builds on this module)."""
    if not get_settings().OUTBOX or not outbox.has_table(connection.alias):
        return run(), None
    if leases.supported(connection) and not raw_transaction(connection):
        lease = leases.valid(connection.alias)
        if lease is not None:
            leases.enter()  # left by the bump of a LEASED write (``bump_written``)
            session = _session(connection)
            try:
                result = run()  # the statement alone: the lease covers a crash after it
            except BaseException:
                # Alone in autocommit, a statement that raised may still have committed
                # (executemany's earlier statements, a reply lost after the COMMIT), or
                # may still be running on the server (a client-side timeout).
                _stop_abandoned(connection, session)
                covered = leases.still_valid(connection.alias, lease)
                if not covered:
                    leases.leave()
                _bump_failed(connection, tags, LEASED if covered else None, bump_failed)
                raise
            if leases.still_valid(connection.alias, lease):
                return result, LEASED
            leases.leave()
            # It outlived the lease's validity (a very slow statement, a stalled renewal):
            # a row of its own now, committed at once, before the bump.
            return result, outbox.record(connection, tags)
    if not shareable(connection, sql):
        return _row_first(connection, tags, run, bump_failed)
    row_tags = tags if sum(t.startswith("r:") for t in tags) <= EXACT else outbox.widen(tags)
    try:
        _raw(connection, _begin(connection))
    except Exception as exc:
        _failed[connection.alias] = failed = _failed.get(connection.alias, 0) + 1
        if failed >= REFUSALS:  # a pooler in statement mode, say: not again
            _refused.add(connection.alias)
        outbox.warn_once(connection.alias, "starting a transaction for a write", exc)
        return _row_first(connection, tags, run, bump_failed)
    taken: list[Any] = []
    try:
        if connection.vendor == "sqlite":
            taken = backlog.take(connection)
            if taken:  # piggy-backed: rolled back with the rest, then given back
                outbox.delete(connection, taken)
        row = outbox.Row(outbox.insert(connection, row_tags), frozenset(row_tags))
    except Exception as exc:
        _rollback(connection, taken)
        outbox.warn_once(connection.alias, "writing", exc)
        return _row_first(connection, tags, run, bump_failed)
    try:
        result = run()
    except BaseException:
        _rollback(connection, taken)
        raise
    try:
        _raw(connection, "COMMIT")
    except BaseException:
        _rollback(connection, taken)  # SQLite keeps a transaction whose COMMIT failed
        raise
    return result, row


# Transaction control sent through a Django cursor while Django sees autocommit (MySQL
# has no client-side transaction status to ask; PostgreSQL's driver has one).
_OPENS = re.compile(r"\s*(BEGIN|START\s+TRANSACTION|XA\s+(START|BEGIN))\b", re.IGNORECASE)
_CLOSES = re.compile(
    r"\s*(COMMIT|ROLLBACK(?!\s+(WORK\s+)?TO\b)|END|ABORT|XA\s+(COMMIT|ROLLBACK))\b",
    re.IGNORECASE,
)


def note_statement(connection: Any, sql: str) -> None:
    """Watch a statement that writes nothing tracked for transaction control (MySQL)."""
    if connection.vendor != "mysql":
        return
    if _OPENS.match(sql):
        connection._smartcache_raw_transaction = True
    elif _CLOSES.match(sql):
        connection._smartcache_raw_transaction = False


def raw_transaction(connection: Any) -> bool:
    """Whether the DB-API connection may be inside a transaction Django does not know of
    (``cursor.execute("BEGIN")``): a statement run there is not committed when it returns,
    so it must not be bumped then, as the lease path would."""
    try:
        if connection.vendor == "postgresql":
            return connection.connection.info.transaction_status != 0  # not IDLE
        if connection.vendor == "mysql":
            return bool(getattr(connection, "_smartcache_raw_transaction", False)) or (
                not connection.connection.get_autocommit()
            )
    except Exception:
        return True  # unknown: the outbox path
    return False


def _row_first(
    connection: Any, tags: list[str], run: Callable[[], Any], bump_failed: Callable[..., None]
) -> tuple[Any, Any]:
    """The older path: the row is inserted and committed before the statement runs."""
    row = outbox.record(connection, tags)
    try:
        return run(), row
    except BaseException:
        # Not in a transaction: it may have committed anyway (DDL, several statements, a
        # reply lost after the COMMIT). Its row is bumped, as if it had.
        _bump_failed(connection, tags, row, bump_failed)
        raise


def _session(connection: Any) -> Any:
    """The server's id for ``connection``'s session (a client-side call, no round trip)."""
    try:
        if connection.vendor in _CANCEL:
            return connection.connection.thread_id()
    except Exception:
        pass
    return None


ABANDONED_WAIT = 10.0  # seconds to wait for a cancelled statement to end on the server
# MySQL/MariaDB only: its client gives up on its own (``read_timeout``). PostgreSQL's
# driver has no read timeout, and behind PgBouncer ``backend_pid`` is not the server's:
# cancelling it by pid could reach another client's statement.
_CANCEL = {"mysql": "KILL QUERY %s"}
_RUNNING = {
    "mysql": "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
    "WHERE ID = %s AND COMMAND <> 'Sleep'",
}


def _stop_abandoned(connection: Any, session: Any) -> None:
    """A statement whose client lost its connection (a read timeout, a broken socket) may
    still run on the server, and commit later: nothing would bump that commit. Cancel it
    and wait until it is over, so that the bump which follows comes after whatever it
    committed. Only when the connection is no longer usable. Never raises."""
    if session is None or connection.vendor not in _CANCEL:
        return
    with contextlib.suppress(Exception):
        if connection.connection is not None and connection.is_usable():
            return  # an ordinary error: the server answered, the statement is over
    try:
        with outbox.private(connection.alias) as conn, conn.cursor() as cursor:
            cursor.execute(_CANCEL[conn.vendor], [session])
            deadline = time.monotonic() + ABANDONED_WAIT
            while time.monotonic() < deadline:
                cursor.execute(_RUNNING[conn.vendor], [session])
                if not cursor.fetchone()[0]:
                    return
                time.sleep(0.05)
        outbox.warn_once(connection.alias, "cancelling an abandoned statement", TimeoutError())
    except Exception as exc:
        outbox.warn_once(connection.alias, "cancelling an abandoned statement", exc)


def _bump_failed(
    connection: Any, tags: list[str], row: Any, bump_written: Callable[..., None]
) -> None:
    """Bump a statement run outside a transaction that raised: part or all of it may be
    committed, and nothing else would ever bump it (invalidate more, never less). ``row``
    is its cover (``LEASED``, an outbox row, or ``None``: one is recorded). Never raises."""
    with contextlib.suppress(Exception):
        if row is None:
            row = outbox.record(connection, tags)  # None on a broken connection: retried
        with outbox.quiet():
            bump_written(tags, connection, row)


def _begin(connection: Any) -> str:
    mode = getattr(connection, "transaction_mode", None) if connection.vendor == "sqlite" else None
    return f"BEGIN {mode}" if mode else "BEGIN"


def _raw(connection: Any, sql: str) -> None:
    """Run ``sql`` on the DB-API connection (no wrappers, not logged), errors as Django's."""
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()


def _rollback(connection: Any, taken: list[Any]) -> None:
    with contextlib.suppress(Exception):
        _raw(connection, "ROLLBACK")
    if taken:
        backlog.give_back(connection, taken)


def reset() -> None:
    """Forget the backlog and the refusals, as in a new process (``recovery.reset``)."""
    backlog.reset()
    _failed.clear()
    _refused.clear()
