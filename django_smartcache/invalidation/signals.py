"""Model signal receivers: committed saves, deletes and m2m changes bump tags."""

from __future__ import annotations

from typing import Any

from django.core.signals import request_finished
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from ..core.tags import model_bump_tags, row_bump_tags
from . import dbwrites, outbox
from .backlog import tidy_thread
from .bumps import bump_on_commit, settle
from .dbwrites import m2m_signalled, recently_bumped
from .tracking import is_tracked

UID = "django_smartcache"


def _row_changed(sender: Any, instance: Any, using: str | None = None, **kwargs: Any) -> None:
    if is_tracked(sender) and instance.pk is not None:
        tags = row_bump_tags(sender, [instance.pk])
        # In autocommit the cursor watcher has usually bumped these already.
        if not set(tags) <= recently_bumped():
            bump_on_commit(tags, using)


def _m2m_changed(
    sender: Any,
    instance: Any,
    action: str,
    model: Any,
    pk_set: set | None,
    using: str | None = None,
    **kwargs: Any,
) -> None:
    if action.startswith("pre_"):
        m2m_signalled(sender)  # the through-table write that follows is ours to bump
        return
    m2m_signalled(None)
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    tags: list[str] = []
    if is_tracked(type(instance)):
        tags += row_bump_tags(type(instance), [instance.pk])
    if is_tracked(model):
        # A clear does not say which rows lost the relation: purge the model.
        tags += row_bump_tags(model, pk_set) if pk_set is not None else model_bump_tags(model)
    if is_tracked(sender):
        tags += model_bump_tags(sender)
    bump_on_commit(tags, using)


def connect() -> None:
    """Connect the receivers for every model (filtered by ``is_tracked``) and the watcher."""
    dbwrites.connect()
    # ``migrate`` may just have created the outbox table: look for it again.
    post_migrate.connect(outbox.forget_tables, dispatch_uid=f"{UID}.outbox")
    post_save.connect(_row_changed, dispatch_uid=f"{UID}.post_save")
    post_delete.connect(_row_changed, dispatch_uid=f"{UID}.post_delete")
    m2m_changed.connect(_m2m_changed, dispatch_uid=f"{UID}.m2m_changed")
    # A manual transaction committed during the request: bump what it held; and on
    # SQLite, delete the thread's acknowledged outbox rows.
    request_finished.connect(_settle, dispatch_uid=f"{UID}.settle")


def _settle(**kwargs: Any) -> None:
    settle()
    tidy_thread()  # SQLite: this thread's acknowledged outbox rows
