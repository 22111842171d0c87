"""Dependency capture: what a computation read from the database becomes its dependencies.

While an entry is being computed (a page, a fragment, a ``cached`` function: a
dependency frame is open, ``core.context``), the SQL watcher (``dbwrites``) hands
every statement it sees on any Django connection to :func:`seen`, which records on
every open frame, exactly like ``depend_on()``:

* a read by primary key only (``get(pk=...)``, ``pk__in``, ``DetailView``; the
  shape is in ``sqlreads``) of a model whose pks compare exactly: those rows
  (``r:`` tags), plus the model's purge tag (``p:``, as for any row dependency) and
  its insert tag (``i:``: a row that did not exist when it was read is created by an
  ``INSERT``, which names no existing row; ``dbwrites`` bumps ``i:`` for inserts);
* anything else (filters, joins, aggregates, ``exists()``, ``count()``, subqueries,
  ``prefetch_related``, raw SQL): the model of every table the statement names.
  When in doubt, the model.

Models left out: untracked ones (this app's own, those of ``UNTRACKED_APPS``: sessions,
content types...; with ``TRACK_MODELS`` a list, those not in it: their writes invalidate
nothing, so capturing them would promise what nothing keeps) and those of
``SMARTCACHE["AUTO_DEPENDENCIES_EXCLUDE"]`` (app labels or ``"app_label.ModelName"``:
a hit counter written on every request, say). ``AUTO_DEPENDENCIES = False`` turns
capture off. What does not depend on the parameters is worked out once per statement
text: a captured read costs a dictionary lookup and, for pk reads, its row tags.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

from ..conf import get_settings, on_settings_change
from ..core.context import record_captured
from ..core.tags import exact_pk, insert_tag, model_tag, purge_tag, python_pks, row_tag
from .sqlreads import analyse_read
from .tracking import OWN_APP, Plans, is_tracked

_owners: dict[str, list[type[models.Model]]] | None = None
_MODEL, _ROWS = "model", "rows"


def seen(sql: str, params: Any, vendor: str | None) -> None:
    """Record what statement ``sql`` reads on every open dependency frame."""
    if not get_settings().AUTO_DEPENDENCIES:
        return
    tags = read_tags(sql, params, vendor)
    if tags:
        record_captured(tags)


def read_tags(sql: str, params: Any = None, vendor: str | None = None) -> list[str]:
    """The tags an entry computed from ``sql``'s result depends on (see the module)."""
    tags: list[str] = []
    for kind, model, extra in _plans.get(sql, vendor):
        if kind is _MODEL:
            tags.append(extra)
            continue
        field, count = extra
        pks = _pks(params, count, field)
        if pks is None:
            tags.append(model_tag(model))
        else:
            tags += [row_tag(model, pk) for pk in pks]
            tags += [purge_tag(model), insert_tag(model)]
    return tags


def _pks(params: Any, count: int, field: models.Field) -> list[Any] | None:
    """The pk values of a pk-only read: all of its parameters, as Python pks."""
    if not isinstance(params, (list, tuple)) or len(params) != count:
        return None
    return python_pks(field, params)  # None: not plain pk values after all: the model


def _plan(sql: str, vendor: str | None) -> list[tuple[str, Any, Any]]:
    read = analyse_read(sql, vendor)
    plan: list[tuple[str, Any, Any]] = []
    for table in read.tables:
        for model in _models_of(table):
            if not is_tracked(model):  # its writes invalidate nothing: no use capturing it
                continue
            pk = model._meta.pk
            if (
                table == read.pk_table
                and pk.column.lower() == read.pk_column
                and exact_pk(model)
                and not model._meta.parents  # a child's pk is its parent link
            ):
                plan.append((_ROWS, model, (pk, read.pk_count)))
            else:
                plan.append((_MODEL, model, model_tag(model)))
    return plan


_plans = Plans(_plan)


def _models_of(table: str) -> list[type[models.Model]]:
    """Models captured for a read of ``table``: those stored in it, minus those left out."""
    global _owners
    if _owners is None:
        conf = get_settings()
        left_out = {label.lower() for label in conf.AUTO_DEPENDENCIES_EXCLUDE}
        found: dict[str, list[type[models.Model]]] = {}
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or meta.app_label in (OWN_APP, *conf.UNTRACKED_APPS):
                continue
            if meta.app_label.lower() in left_out or meta.label_lower in left_out:
                continue
            name = meta.db_table.lower()
            keys = {name, name.rsplit(".", 1)[-1].strip('"`')}
            for key in keys:
                found.setdefault(key, []).append(model)
        _owners = found
    return _owners.get(table, [])


@on_settings_change
def reset() -> None:
    """Forget the table map and the plans (settings changed)."""
    global _owners
    _owners = None
