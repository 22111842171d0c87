"""Invalidate for writes that send no model signals, seen at the database cursor.

``QuerySet.update()``, ``bulk_create()``, ``bulk_update()``, fast deletes, and raw
SQL through any Django connection all pass through ``cursor.execute`` /
``executemany``. An execute wrapper, installed on every connection when it is
created (Django's ``connection_created`` signal; no patching), asks ``sqlwrites``
which tables the statement may write, maps them to their tracked models and bumps
them after commit:

* ``UPDATE``/``DELETE ... WHERE <pk> = %s`` or ``<pk> IN (%s, ...)`` on one table
  (what ``save()``, ``delete()``, ``bulk_update()`` and pk filters produce): those
  rows and the model-level tags, so other rows' entries survive;
* any other write, an upsert, ``REPLACE``, ``TRUNCATE``, DDL, or a statement
  ``sqlwrites`` does not fully understand: the whole model of every table it may
  write (or, not understood, of every table it names), row-level entries included
  (its purge tag); ``TRUNCATE ... CASCADE`` also the tables referencing them;
* a plain ``INSERT``: the model-level tags and the insert tags (``i:``) only: no entry
  can depend on a new row, except a captured read by pk that found none (``capture``).

Multi-table inheritance: a write to a parent table reaches its child models too.
A crash or an outage between the commit and the bump cannot lose a tracked write:
inside a transaction its outbox row (``outbox``) is part of it; in autocommit on
MySQL/MariaDB or PostgreSQL the process's writer lease covers it (``leases``: the
statement alone, then the bump); otherwise (SQLite, or no valid lease) the row and the
statement get a transaction of their own (``autocommit``).
Cost: a ``SELECT`` costs a 6-character comparison and a ``;`` search; other reads a
regular expression; writes a memoized analysis (sqlparse once per distinct SQL). While
an entry is being computed, every statement is also handed to ``capture`` (what the
computation reads becomes its dependencies).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.apps import apps
from django.db import models
from django.db.backends.signals import connection_created

from ..core.context import capturing
from ..core.tags import (
    exact_pk,
    insert_tag,
    model_bump_tags,
    model_tag,
    python_pks,
    row_bump_tags,
)
from . import autocommit, bumps, capture, outbox
from .bumps import bump_on_commit, bump_written, cover
from .sqlwrites import CASCADE, INSERT, ROWS, Write, analyse
from .tracking import Plans, is_tracked

_tables: dict[str, list[type[models.Model]]] | None = None
_local = threading.local()


def _table_keys(db_table: str) -> set[str]:
    """Names ``sqlwrites`` may report for ``db_table`` (also a quoted ``"schema"."t"``)."""
    name = db_table.lower()
    if '"' in name or "`" in name:
        return {name, name.rsplit(".", 1)[-1].strip('"`')}
    return {name}


def table_models(table: str) -> list[type[models.Model]]:
    """Concrete models stored in ``table`` or inheriting from one that is (m2m too)."""
    global _tables
    if _tables is None:
        found: dict[str, list[type[models.Model]]] = {}
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy:
                continue
            for owner in [model, *model._meta.get_parent_list()]:
                for key in _table_keys(owner._meta.db_table):
                    found.setdefault(key, []).append(model)
        _tables = found
    return _tables.get(table.lower(), [])


def _referencing(table: str) -> set[str]:
    """``table`` and the tables whose foreign keys lead to it (``TRUNCATE ... CASCADE``)."""
    found, todo = {table}, [table]
    while todo:
        target = todo.pop()
        for model in apps.get_models(include_auto_created=True):
            for field in model._meta.local_fields:
                remote = getattr(field.remote_field, "model", None)
                source = model._meta.db_table.lower()
                if (
                    isinstance(remote, type)
                    and target in _table_keys(remote._meta.db_table)
                    and source not in found
                ):
                    found.add(source)
                    todo.append(source)
    return found


def row_pks(params: Any, many: bool, count: int, pk: models.Field) -> list[Any] | None:
    """The pks of a pk-only write: the last ``count`` values of each parameter set.

    Values are turned back into Python pks (a UUID sent as hex, say) so their tags
    match those of instances; ``None`` when they are not plain pk values.
    """
    pks: list[Any] = []
    for values in params if many else [params]:
        if not isinstance(values, Sequence) or isinstance(values, str) or len(values) < count:
            return None
        pks.extend(values[len(values) - count :])
    return python_pks(pk, pks)  # None: not plain pk values after all: model-wide


_sides: dict[type[models.Model], set[type[models.Model]]] | None = None


def m2m_sides(through: type[models.Model]) -> set[type[models.Model]]:
    """The models a many-to-many ``through`` model links (empty for other models)."""
    global _sides
    if _sides is None:
        found: dict[type[models.Model], set[type[models.Model]]] = {}
        for model in apps.get_models():
            for field in model._meta.local_many_to_many:
                link = field.remote_field.through
                if isinstance(link, type):
                    found.setdefault(link, set()).update({model, field.related_model})
        _sides = found
    return _sides.get(through, set())


def m2m_signalled(through: type[models.Model] | None) -> None:
    """Django is sending ``m2m_changed`` for ``through`` (``None``: done): the relation's
    receiver bumps exactly the rows, so the through-table write need not purge the sides."""
    _local.m2m = through


def written_tags(
    sql: str, params: Any = None, many: bool = False, vendor: str | None = None
) -> list[str]:
    """Tags a statement's write makes stale (empty for reads and untracked tables).

    ``vendor`` is the connection's (``"sqlite"``, ``"mysql"``, ``"postgresql"``);
    without it the SQL is read every way those databases could read it. What does not
    depend on ``params`` is worked out once per statement text (``_plan``): a save pays
    for its row tags only.
    """
    tags: dict[str, None] = {}
    for kind, model, fixed, extra in _plans.get(sql, vendor):
        if kind is _FIXED:
            tags.update(fixed)
        elif kind is _ROWS:
            field, count = extra
            pks = row_pks(params, many, count, field)
            tags.update(dict.fromkeys(row_bump_tags(model, pks) if pks is not None else fixed))
        elif getattr(_local, "m2m", None) is not model:  # _SIDES, unless ``m2m_signalled``
            tags.update(fixed)
    return list(tags)


_FIXED, _ROWS, _SIDES = "fixed", "rows", "sides"


def _plan(sql: str, vendor: str | None) -> list[tuple[str, Any, Any, Any]]:
    """``written_tags``' work for ``sql`` that does not depend on its parameters."""
    plan: list[tuple[str, Any, Any, Any]] = []
    for write in analyse(sql, vendor):
        tables = _referencing(write.table) if write.effect == CASCADE else [write.table]
        for table in tables:
            for model in table_models(table):
                if is_tracked(model):
                    plan.append(_model_plan(model, write))
                # A write to a through table outside ``.add()``/``.remove()``
                # (``through.objects``, raw SQL) does not say which rows gained or lost
                # the relation: purge both sides (not while Django sends m2m_changed).
                sides = [t for s in m2m_sides(model) if is_tracked(s) for t in model_bump_tags(s)]
                if sides:
                    plan.append((_SIDES, model, dict.fromkeys(sides), None))
    return plan


_plans = Plans(_plan)


def _model_plan(model: type[models.Model], write: Write) -> tuple[str, Any, Any, Any]:
    chain = [model, *model._meta.get_parent_list()]
    if write.effect == INSERT:  # new rows only: no existing row's entries can be affected,
        # but a captured read by pk may have found no row where one is created now.
        tags = [t for m in chain for t in (model_tag(m), insert_tag(m))]
        return (_FIXED, model, dict.fromkeys(tags), None)
    if write.effect == ROWS:
        owner = next(m for m in chain if write.table in _table_keys(m._meta.db_table))
        if owner._meta.pk.column.lower() == write.pk_column and exact_pk(owner):
            extra = (owner._meta.pk, write.pk_count)
            return (_ROWS, model, model_bump_tags(model), extra)  # (model-wide if not pks)
    return (_FIXED, model, dict.fromkeys(model_bump_tags(model)), None)


def _text(sql: Any, connection: Any) -> str:
    """SQL that is not a ``str`` (bytes, psycopg's ``sql.Composed``) as text."""
    if isinstance(sql, bytes):
        return sql.decode(errors="replace")
    if hasattr(sql, "as_string"):
        try:
            return sql.as_string(connection.connection)
        except Exception:
            pass
    return str(sql)


def recently_bumped() -> set[str]:
    """Tags the watcher bumped at once (autocommit) for this thread's last write."""
    return getattr(_local, "recent", set())


class WriteWatcher:
    """The execute wrapper: record the outbox row, run the statement, schedule its bump.

    Inside a transaction the statement's tags go into the transaction's outbox row
    (written in that transaction, before the statement) and are bumped on commit.
    In autocommit (``autocommit.write``) the statement runs alone under this process's
    writer lease, or with its outbox row in one transaction of their own; the bump
    follows. A crash before the bump leaves a lease that stops being renewed, or the
    committed row: either is bumped by the next flush of any process.
    """

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        if type(sql) is str and sql[:6].upper() == "SELECT" and ";" not in sql:
            if capturing():  # an entry is being computed: what it reads is a dependency
                capture.seen(sql, params, context["connection"].vendor)
            return execute(sql, params, many, context)  # the hot path: nothing else
        connection = context["connection"]
        if many and not isinstance(params, Sequence):
            params = list(params)  # a generator: read it once, for us and for the driver
        text = sql if type(sql) is str else _text(sql, connection)
        if capturing():
            capture.seen(text, params if not many else None, connection.vendor)
        tags = written_tags(text, params, many, connection.vendor)
        if not tags:
            autocommit.note_statement(connection, text)  # BEGIN / COMMIT sent raw
            return execute(sql, params, many, context)
        if connection.in_atomic_block or not connection.get_autocommit():
            # In a transaction (an atomic block, or a manual one): bumped after its commit.
            cover(tags, connection.alias)
            result = execute(sql, params, many, context)
            bump_on_commit(tags, connection.alias)
            _local.recent = set()
            return result
        result, row = autocommit.write(
            connection,
            text,
            tags,
            lambda: execute(sql, params, many, context),
            bump_failed=bumps.bump_written,  # bumps', not this module's name (tests replace it)
        )
        with outbox.quiet():  # the statement may still be open (RETURNING rows unread)
            bump_written(tags, connection, row)
        _local.recent = set(tags)
        return result


WATCHER = WriteWatcher()


def install(connection: Any, **kwargs: Any) -> None:
    """Add the watcher to ``connection`` once (``connection_created`` receiver)."""
    connection._smartcache_raw_transaction = False  # a new session: no transaction
    if WATCHER not in connection.execute_wrappers:
        connection.execute_wrappers.append(WATCHER)


def connect() -> None:
    """Watch every connection, including those opened before the app was ready."""
    from django.db import connections

    connection_created.connect(install, dispatch_uid="django_smartcache.install")
    for connection in connections.all(initialized_only=True):
        install(connection)
