"""Invalidate for writes that send no model signals, seen at the database cursor.

``QuerySet.update()``, ``bulk_create()``, ``bulk_update()``, fast deletes, and raw
SQL through any Django connection all pass through ``cursor.execute`` /
``executemany``. An execute wrapper, installed on every connection when it is
created (Django's ``connection_created`` signal; no patching), maps the written
table to its tracked models and bumps them after commit:

* ``UPDATE``/``DELETE ... WHERE <pk> = %s`` or ``<pk> IN (%s, ...)`` (what
  ``save()``, ``delete()``, ``bulk_update()`` and pk filters produce): those rows
  and the model-level tags, so other rows' entries survive;
* any other ``UPDATE``/``DELETE``/``REPLACE``/``TRUNCATE`` or an upsert: the whole
  model, row-level entries included (its purge tag);
* a plain ``INSERT``: the model-level tags only (no entry can depend on a new row).

Multi-table inheritance: a write to a parent table reaches its child models too.
Each tracked write is also recorded in the invalidation outbox (``outbox``), in
its own transaction, so a crash or an outage between the commit and the bump
cannot lose it.
Cost: a SELECT costs one 6-character comparison; other statements one or two
regular expressions.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.apps import apps
from django.db import models
from django.db.backends.signals import connection_created

from . import outbox
from .invalidation import bump_on_commit, bump_written, cover
from .tags import model_bump_tags, model_tag, row_bump_tags
from .tracking import is_tracked

_VERB = re.compile(
    r"\s*(?:/\*.*?\*/\s*)*(INSERT|UPDATE|DELETE|REPLACE|TRUNCATE)\b", re.IGNORECASE | re.DOTALL
)
_NAME = r"(?:[`\"\[]?\w+[`\"\]]?\.)?[`\"\[]?(\w+)[`\"\]]?"
_TABLE = {
    "INSERT": re.compile(r"\bINTO\s+" + _NAME, re.IGNORECASE),
    "REPLACE": re.compile(r"\bINTO\s+" + _NAME, re.IGNORECASE),
    "UPDATE": re.compile(r"UPDATE\s+(?:(?:LOW_PRIORITY|IGNORE|OR\s+\w+)\s+)*" + _NAME, re.I),
    "DELETE": re.compile(r"\bFROM\s+" + _NAME, re.IGNORECASE),
    "TRUNCATE": re.compile(r"TRUNCATE\s+(?:TABLE\s+)?" + _NAME, re.IGNORECASE),
}
_UPSERT = re.compile(r"\bON\s+(?:CONFLICT|DUPLICATE\s+KEY)\b", re.IGNORECASE)
_PK_WHERE = re.compile(
    r"\bWHERE\s+" + _NAME + r"\s*(?:=\s*%s|IN\s*\(\s*((?:%s\s*,\s*)*%s)\s*\))\s*$",
    re.IGNORECASE,
)

_tables: dict[str, list[type[models.Model]]] | None = None
_local = threading.local()


def table_models(table: str) -> list[type[models.Model]]:
    """Concrete models stored in ``table`` or inheriting from one that is (m2m too)."""
    global _tables
    if _tables is None:
        found: dict[str, list[type[models.Model]]] = {}
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy:
                continue
            for owner in [model, *model._meta.get_parent_list()]:
                found.setdefault(owner._meta.db_table.lower(), []).append(model)
        _tables = found
    return _tables.get(table.lower(), [])


def _row_pks(sql: str, params: Any, many: bool, pk: models.Field) -> list[Any] | None:
    """The pks a ``WHERE pk = %s`` / ``pk IN (...)`` statement touches, else ``None``.

    Values are turned back into Python pks (a UUID sent as hex, say) so their tags
    match those of instances.
    """
    where = _PK_WHERE.search(sql)
    if where is None or where.group(1).lower() != pk.column.lower():
        return None
    count = where.group(2).count("%s") if where.group(2) else 1
    sets = params if many else [params]
    pks: list[Any] = []
    for values in sets:
        if not isinstance(values, Sequence) or len(values) < count:
            return None
        pks.extend(values[len(values) - count :])
    try:
        return [pk.to_python(value) for value in pks]
    except Exception:  # not a plain pk value after all: treat as model-wide
        return None


def written_tags(sql: str, params: Any = None, many: bool = False) -> list[str]:
    """Tags a statement's write makes stale (empty for reads and untracked tables)."""
    verb = _VERB.match(sql)
    if verb is None:
        return []
    kind = verb.group(1).upper()
    table = _TABLE[kind].search(sql, verb.start(1))
    if table is None:
        return []
    tags: list[str] = []
    for model in table_models(table.group(1)):
        if not is_tracked(model):
            continue
        if kind == "INSERT" and not _UPSERT.search(sql):
            # New rows only: no existing row's entries can be affected.
            tags.extend(model_tag(m) for m in [model, *model._meta.get_parent_list()])
            continue
        pks = None
        if kind in ("UPDATE", "DELETE"):
            owner = next(
                m
                for m in [model, *model._meta.get_parent_list()]
                if m._meta.db_table.lower() == table.group(1).lower()
            )
            pks = _row_pks(sql, params, many, owner._meta.pk)
        tags.extend(model_bump_tags(model) if pks is None else row_bump_tags(model, pks))
    return tags


def recently_bumped() -> set[str]:
    """Tags the watcher bumped at once (autocommit) for this thread's last write."""
    return getattr(_local, "recent", set())


class WriteWatcher:
    """The execute wrapper: record the outbox row, run the statement, schedule its bump.

    Inside a transaction the statement's tags go into the transaction's outbox row
    (written in that transaction, before the statement) and are bumped on commit.
    In autocommit the statement commits as it runs, so its outbox row is inserted
    (and committed) first, and deleted once the bump after the statement has landed.
    """

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        if sql[:6].upper() == "SELECT":
            return execute(sql, params, many, context)
        tags = written_tags(sql, params, many)
        if not tags:
            return execute(sql, params, many, context)
        connection = context["connection"]
        if connection.in_atomic_block or not connection.get_autocommit():
            # In a transaction (an atomic block, or a manual one): bumped after its commit.
            cover(tags, connection.alias)
            result = execute(sql, params, many, context)
            bump_on_commit(tags, connection.alias)
            _local.recent = set()
            return result
        row = outbox.record(connection, tags)
        try:
            result = execute(sql, params, many, context)
        except BaseException:
            outbox.discard(connection, row)  # nothing was written
            raise
        with outbox.quiet():  # the statement may still be open (RETURNING rows unread)
            bump_written(tags, connection, row)
        _local.recent = set(tags)
        return result


WATCHER = WriteWatcher()


def install(connection: Any, **kwargs: Any) -> None:
    """Add the watcher to ``connection`` once (``connection_created`` receiver)."""
    if WATCHER not in connection.execute_wrappers:
        connection.execute_wrappers.append(WATCHER)


def connect() -> None:
    """Watch every connection, including those opened before the app was ready."""
    from django.db import connections

    connection_created.connect(install, dispatch_uid="django_smartcache.install")
    for connection in connections.all(initialized_only=True):
        install(connection)
