"""Whether a computation may be reading a database snapshot older than its tokens.

A fill reads the tag tokens first, then computes: under READ COMMITTED (Django's
default on MySQL and PostgreSQL) every query sees what was committed when it ran,
so a change committed after the token read is bumped after it too, and the entry
never validates. Under REPEATABLE READ or SERIALIZABLE, a transaction reads from a
snapshot taken at its first query, which may be *older* than the token read: a
change committed in between is in the tokens but not in the data. Such a fill is
computed and served, but not stored. The same holds for SQLite in WAL mode, whose
readers see the database as of their transaction's first read.

Only connections of this thread that are open and inside a transaction (an atomic
block, or autocommit off) count. ``SET TRANSACTION ISOLATION LEVEL`` sent as raw SQL
is not seen: set the level in ``DATABASES[...]["OPTIONS"]["isolation_level"]``.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

_SNAPSHOT_LEVELS = {"repeatable read", "serializable", "repeatable_read"}


def snapshot_may_predate() -> bool:
    """Whether a connection of this thread is in a transaction that reads from a snapshot."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        if not (connection.in_atomic_block or not connection.autocommit):
            continue
        if _reads_a_snapshot(connection):
            return True
    return False


def _reads_a_snapshot(connection: Any) -> bool:
    vendor = connection.vendor
    if vendor == "sqlite":
        return _sqlite_wal(connection)
    level = getattr(connection, "isolation_level", None)
    if vendor == "mysql" and not level:
        return True  # the server's default: REPEATABLE READ on InnoDB
    if _snapshot_level(level):
        return True
    # Django reports READ COMMITTED when OPTIONS does not say, but libpq options, ALTER
    # ROLE / DATABASE ... SET or the server's configuration may have set another default.
    return vendor == "postgresql" and _snapshot_level(_server_default(connection))


def _snapshot_level(level: Any) -> bool:
    name = getattr(level, "name", level)  # psycopg's IsolationLevel enum, or a string
    return str(name).lower().replace("_", " ") in _SNAPSHOT_LEVELS


def _asked(connection: Any, ask: Any) -> Any:
    """``ask(connection)``, asked once per DB-API connection: kept on Django's wrapper with
    the DB-API connection it was asked of (not by ``id()``, which a new connection may
    reuse once the old one is gone: a database switched to WAL since would be missed)."""
    raw = connection.connection
    kept = getattr(connection, "_smartcache_snapshot", None)
    if kept is not None and kept[0] is raw:
        return kept[1]
    found = ask(connection)
    connection._smartcache_snapshot = (raw, found)
    return found


def _server_default(connection: Any) -> str:
    """PostgreSQL's default isolation level for this connection (asked once per connection)."""

    def ask(connection: Any) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW default_transaction_isolation")
            return str(cursor.fetchone()[0])

    return _asked(connection, ask)


def _sqlite_wal(connection: Any) -> bool:
    """Whether this SQLite connection's database is in WAL mode (asked once per connection)."""

    def ask(connection: Any) -> bool:
        mode = connection.connection.execute("PRAGMA journal_mode").fetchone()
        return bool(mode) and str(mode[0]).lower() == "wal"

    return _asked(connection, ask)
