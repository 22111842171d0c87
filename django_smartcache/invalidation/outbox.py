"""The invalidation outbox: bumps that survive a Redis outage and a crash after commit.

A tracked write also writes a row of :class:`~django_smartcache.models.PendingInvalidation`
on the database being written, committed with the data, never after it:

* inside a transaction, one row per transaction (per savepoint context), inserted at its
  first tracked write and updated only when a write touches a model the row does not
  name yet; after the commit the bump is sent and the row deleted by id;
* in autocommit, the row and the statement run in one transaction of their own, and the
  row is deleted lazily, in batches, once the bump has landed (``autocommit``); on a
  server database, a process's writer lease replaces these rows (``leases``), and a
  flush also reclaims the leases of processes that stopped renewing them.

If the bump cannot be sent, or the process dies first, the row stays. Any process
*flushes* the outbox (bumps the tags of every row, then deletes those rows; idempotent,
safe when several do it at once, and bumping a row whose bump already landed only
invalidates again):

* on its first cache use,
* when a cache's breaker lets a probe through after an outage, before that request can
  be served a hit,
* otherwise at most every ``OUTBOX_INTERVAL`` seconds, from the read path; this periodic
  flush leaves rows younger than ``GRACE`` seconds to the process that is bumping them.

This module writes, reads and deletes the rows; flushing them is ``recovery``'s (it bumps).

A check is one query per database (whose router allows the table, and that has it), on
a connection of its own (never the request's transaction), except on SQLite (one writer
per file): there the thread's own connection, outside a transaction only.

Rows hold tag names, row tags widened to their model (``r:shop.product:42`` becomes
``m:shop.product p:shop.product``; an autocommit row keeps a few exactly): one row per
transaction whatever it writes. Only a flush (a failed bump, a crash) sends the wider
tags: a model-wide purge is a fair price there.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.utils import timezone

from ..conf import get_settings, on_settings_change

logger = logging.getLogger("django_smartcache")

BATCH = 500  # rows per flush query

_conn_lock = threading.RLock()  # guards the private connections
_tables: dict[str, bool] = {}  # database alias -> the table exists there
_private: dict[str, Any] = {}  # database alias -> this module's own connection
_warned: set[tuple[str, str]] = set()
_counts: Counter[str] = Counter()
_local = threading.local()


class Row(NamedTuple):
    """The outbox row of one transaction context: its id and the tags it holds."""

    id: Any
    tags: frozenset[str]


def _model():
    from ..models import PendingInvalidation

    return PendingInvalidation


def widen(tags: Iterable[str]) -> frozenset[str]:
    """Tags for the outbox: a row tag becomes its model's model-wide purge."""
    out: set[str] = set()
    for tag in tags:
        if tag.startswith("r:"):
            label = tag[2:].partition(":")[0]
            out.update((f"m:{label}", f"p:{label}"))
        else:
            out.add(tag)
    return frozenset(out)


# --------------------------------------------------------------------------- writing


def record(connection: Any, tags: Iterable[str], row: Row | None = None) -> Row | None:
    """Make sure ``connection``'s current transaction holds an outbox row covering ``tags``.

    Inserts a row (``row`` is ``None``) or adds the missing tags to ``row``; does nothing
    when ``row`` already covers them. Never raises: without the table, or on an error,
    the bump is covered by the in-process retry only (logged once).
    """
    if not get_settings().OUTBOX:
        return row
    wanted = widen(tags)
    if row is not None and wanted <= row.tags:
        return row
    if not has_table(connection.alias):
        return row
    try:
        if row is None:
            return Row(insert(connection, wanted), wanted)
        merged = row.tags | wanted
        table, ops = _model()._meta.db_table, connection.ops
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ops.quote_name(table)} SET {ops.quote_name('tags')} = %s "
                f"WHERE {ops.quote_name('id')} = %s",
                [" ".join(sorted(merged)), row.id],
            )
        _counts["widened"] += 1
        return Row(row.id, merged)
    except Exception as exc:
        warn_once(connection.alias, "writing", exc)
        return row


def insert(connection: Any, tags: Iterable[str]) -> Any:
    """Insert a row holding ``tags`` (as given) on ``connection``; its id. Raises."""
    table, ops = _model()._meta.db_table, connection.ops
    text = " ".join(sorted(tags))
    columns = f"{ops.quote_name('tags')}, {ops.quote_name('created')}"
    sql = f"INSERT INTO {ops.quote_name(table)} ({columns}) VALUES (%s, %s)"
    created = ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        if connection.vendor in ("sqlite", "mysql"):
            cursor.execute(sql, [text, created])
            new_id = cursor.lastrowid
        else:
            cursor.execute(f"{sql} RETURNING {ops.quote_name('id')}", [text, created])
            new_id = cursor.fetchone()[0]
    _counts["written"] += 1
    return new_id


def keep(tags: Iterable[str], alias: str = DEFAULT_DB_ALIAS) -> None:
    """Write a row for a bump that failed outside any write (``invalidate()``, a purge).

    In autocommit it is committed at once; inside a transaction it is part of it
    (a rollback takes it away; the in-process retry still has the bump). Never raises.
    """
    record(connections[alias], tags)


def discard(connection: Any, row: Row | None) -> None:
    """Delete ``row`` (its bump landed, or its statement failed). Never raises."""
    if row is None:
        return
    try:
        delete(connection, [row.id])
    except Exception as exc:
        warn_once(connection.alias, "deleting", exc)


def delete(connection: Any, ids: Sequence[Any]) -> None:
    """Delete the rows ``ids`` on ``connection`` (in its transaction, if any). Raises."""
    table = connection.ops.quote_name(_model()._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {connection.ops.quote_name('id')} IN ({marks})", list(ids)
        )


# --------------------------------------------------------------------------- the table


def has_table(alias: str) -> bool:
    """Whether database ``alias`` has the outbox table (looked up once per process)."""
    found = _tables.get(alias)
    if found is not None:
        return found
    try:
        with private(alias) as conn, conn.cursor() as cursor:
            names = {name.lower() for name in conn.introspection.table_names(cursor)}
    except Exception as exc:
        warn_once(alias, "looking for the outbox table", exc)
        return False  # unknown: asked again next time
    found = _tables[alias] = _model()._meta.db_table.lower() in names
    if not found:
        logger.warning(
            "Database %r has no %s table (run `manage.py migrate`): invalidations that "
            "cannot reach the cache are kept in this process only.",
            alias,
            _model()._meta.db_table,
        )
    return found


def forget_tables(**kwargs: Any) -> None:
    """Look for the table again (``post_migrate`` receiver: it may exist now)."""
    _tables.clear()


def databases() -> list[str]:
    """The databases an outbox row may be in."""
    return [
        alias
        for alias in settings.DATABASES
        if router.allow_migrate_model(alias, _model()) and has_table(alias)
    ]


class private:
    """This module's own connection to ``alias``, shared by threads under a lock.

    It is closed after use unless ``CONN_MAX_AGE`` keeps connections open.
    """

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __enter__(self) -> Any:
        _conn_lock.acquire()
        try:
            conn = _private.get(self.alias)
            if conn is None:
                conn = _private[self.alias] = connections.create_connection(self.alias)
                conn.inc_thread_sharing()
            conn.close_if_unusable_or_obsolete()
        except BaseException:
            _conn_lock.release()
            raise
        return conn

    def __exit__(self, *exc: object) -> None:
        try:
            conn = _private[self.alias]
            if exc[0] is not None or not conn.settings_dict.get("CONN_MAX_AGE"):
                conn.close()
        except Exception:
            pass  # dropped and reopened next time
        finally:
            _conn_lock.release()


@contextmanager
def quiet() -> Iterator[None]:
    """No flush from this thread meanwhile (inside a flush, or inside a statement)."""
    before = getattr(_local, "quiet", False)
    _local.quiet = True
    try:
        yield
    finally:
        _local.quiet = before


def quieted() -> bool:
    """Whether this thread is inside ``quiet()``."""
    return getattr(_local, "quiet", False)


# --------------------------------------------------------------------------- reporting


def warn_once(alias: str, doing: str, exc: BaseException) -> None:
    """One WARNING per database and activity until ``reset()``; DEBUG after that."""
    _counts["errors"] += 1
    key = (alias, doing)
    # AssertionError: Django's test isolation refusing a database the test did not declare.
    if key in _warned or isinstance(exc, AssertionError):
        logger.debug("Outbox on %r failed again while %s: %s", alias, doing, exc)
        return
    _warned.add(key)
    logger.warning(
        "Invalidation outbox on database %r failed while %s (%s: %s); the in-process "
        "retry still covers this process.",
        alias,
        doing,
        type(exc).__name__,
        exc,
    )


def tally(name: str, count: int = 1) -> None:
    """Add to one of this process's outbox figures (``counters``)."""
    _counts[name] += count


def counters() -> dict[str, int]:
    """This process's outbox figures: rows written, widened, flushed; flushes; errors."""
    return {name: _counts[name] for name in ("written", "widened", "flushed", "flushes", "errors")}


@on_settings_change
def forget() -> None:
    """Forget connections, tables, warnings and counters (settings changed)."""
    with _conn_lock:
        for conn in _private.values():
            with contextlib.suppress(Exception):
                conn.close()
        _private.clear()
    _tables.clear()
    _warned.clear()
    _counts.clear()
