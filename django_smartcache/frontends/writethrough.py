"""Write-through: after a committed change, put the fresh value in the cache at once.

Rows of models listed in ``SMARTCACHE["WRITE_THROUGH"]`` are reloaded into the
per-row object cache (``get_cached``), and ``cached(write_through=True)``
functions whose dependencies changed are recomputed (their no-argument call),
right after the invalidation lands. A failure here never fails the save: the
invalidation already made the old entry unservable, so a read recomputes it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.apps import apps
from django.db import models

from ..conf import get_settings
from ..core.tags import GLOBAL, exact_pk, model_from_label, purge_tag, row_tag
from ..invalidation.bumps import on_landed
from ..invalidation.tracking import depend_on, track
from . import functions
from .functions import cache_aside

logger = logging.getLogger("django_smartcache")

M = TypeVar("M", bound=models.Model)


def _row_key(model: type[models.Model], pk: Any) -> tuple[str, list[str], Any]:
    """Key, static tags and the pk in its Python form (``"07"`` is row 7)."""
    with contextlib.suppress(Exception):  # not a pk value at all: the query will say so
        pk = model._meta.pk.to_python(pk)
    key = f"obj:{model._meta.label_lower}:{pk}"
    tags = {GLOBAL, purge_tag(model)}
    if exact_pk(model):
        tags.add(row_tag(model, pk))
    return key, sorted(tags), pk


def _load(model: type[M], pk: Any) -> M:
    row = model._default_manager.get(pk=pk)
    if not exact_pk(model):
        depend_on(row)  # the row the database loaded, whatever the pk asked for looked like
    return row


def get_cached(
    model: type[M] | str, pk: Any, *, timeout: float | None = None, cache: str | None = None
) -> M:
    """Row ``pk`` of ``model`` from the cache, loading it on a miss (cache-aside).

    The entry depends on that row, so a committed change or delete of it (or
    ``invalidate(model)``) makes it stale; for models in ``WRITE_THROUGH`` the
    fresh row is written back right after the commit. Raises the model's
    ``DoesNotExist`` like ``Model.objects.get``. ``model`` may be given as an
    ``"app_label.ModelName"`` string; ``pk`` is taken in its Python form, so
    ``"07"`` and ``7`` are the same row of an integer pk.
    """
    if isinstance(model, str):
        model = _model_from_label(model)
    track([model])
    key, tags, pk = _row_key(model, pk)
    return cache_aside(cache, key, tags, lambda: _load(model, pk), timeout)


def _model_from_label(label: str) -> type[models.Model]:
    try:
        return model_from_label(label)
    except LookupError as exc:
        raise TypeError(
            f"get_cached() takes a model class or an 'app_label.ModelName' string, "
            f"not {label!r}: {exc}"
        ) from exc


def refresh(tags: Iterable[str]) -> None:
    """Write through what the bumped ``tags`` touched (called after a bump landed)."""
    tags = list(tags)
    wanted = get_settings().WRITE_THROUGH
    if wanted:
        for tag in tags:
            if tag.startswith("r:"):
                label, _, pk = tag[2:].partition(":")
                if label in wanted:
                    _guarded(_refresh_row, label, pk)
    if functions.write_through_functions:
        bumped = set(tags) - {GLOBAL}
        for refresh_function, function_tags, own in functions.write_through_functions:
            if bumped & (set(function_tags()) - {GLOBAL, own}):
                _guarded(refresh_function)


def _refresh_row(label: str, pk: str) -> None:
    model = apps.get_model(label)
    key, tags, pk = _row_key(model, pk)
    with contextlib.suppress(model.DoesNotExist):  # deleted: the bump made it unservable
        cache_aside(None, key, tags, lambda: _load(model, pk), None, wait=False)


def _guarded(action: Callable[..., Any], *args: Any) -> None:
    try:
        action(*args)
    except Exception:
        logger.warning("Write-through failed; the entry will be recomputed on read.", exc_info=True)


on_landed(refresh)  # every bump that reached every cache (``bumps.bump``)
