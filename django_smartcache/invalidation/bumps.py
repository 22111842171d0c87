"""Make entries stale: ``invalidate()``, ``invalidate_all()`` and bumps after commit.

A bump gives each tag a new random token; entries stamped with the old token
stop matching. It costs one script call whatever the number of entries. A bump
that cannot reach the cache is kept and retried; until it lands, this process
serves nothing from that cache (see ``recovery.pending_ok``). Bumps of database writes
are also recorded in the outbox table, in the writing transaction, so other
processes, and a process that died right after commit, cannot lose them
(see ``outbox``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from ..core.breaker import breaker
from ..core.tags import GLOBAL, Dependency, bump_tags, dependency_models
from ..stores.base import hold_end
from ..stores.factory import get_store
from . import autocommit, backlog, leases, outbox
from .sending import (
    HOLD_TTL,
    aliases,
    bump,
    ending,
    forget_unheld,
    not_held,
    on_landed,
    on_new_alias,
    retry,
    use_alias,
)
from .tracking import track

__all__ = [
    "bump",
    "bump_on_commit",
    "bump_written",
    "cover",
    "hold_until_commit",
    "invalidate",
    "invalidate_all",
    "on_landed",
    "retry",
    "settle",
    "use_alias",
]

_local = threading.local()


class _Batch:
    """The writes of one transaction (or savepoint) context, in registration order.

    It owns the context's outbox row: inserted in that context, so a rolled-back
    savepoint takes its row with it.
    """

    __slots__ = ("writes", "hooks", "using", "row")

    def __init__(self, hooks: Any, using: str) -> None:
        self.writes: list[list[str] | None] = []
        self.hooks = hooks
        self.using = using
        self.row: outbox.Row | None = None

    def cover(self, tags: Iterable[str]) -> None:
        """Make the context's outbox row cover ``tags`` (at most one statement)."""
        self.row = outbox.record(connections[self.using], tags, self.row)

    def add(self, tags: list[str]) -> Callable[[], None]:
        """Record one write; return its on_commit callback."""
        self.cover(tags)
        self.writes.append(tags)
        return partial(self.flush, len(self.writes) - 1)

    def flush(self, index: int) -> None:
        """Bump write ``index`` and every later one still pending, in one go.

        Django runs a commit's callbacks in order, so the first callback of the
        batch to run sends everything; the later ones find nothing left.
        (A test helper that runs only the callbacks registered inside a block
        starts at a later index, and so bumps only those writes.) Once every
        write has landed, the outbox row is deleted; if the bump failed, it stays.
        """
        tags: set[str] = set()
        for i in range(index, len(self.writes)):
            if self.writes[i] is not None:
                tags.update(self.writes[i])
                self.writes[i] = None
        if not tags or not bump(sorted(tags), keep=self.row is None):
            return
        if self.row is not None and all(write is None for write in self.writes):
            row, self.row = self.row, None
            outbox.discard(connections[self.using], row)


def _batches() -> dict[tuple, _Batch]:
    found = getattr(_local, "batches", None)
    if found is None:
        found = _local.batches = {}
    return found


def _batch(connection: Any) -> _Batch:
    """The batch of ``connection``'s current transaction (or savepoint) context."""
    # Django replaces its ``run_on_commit`` list on commit and on any rollback, so a
    # batch made under another list belongs to a finished (or partly undone) context.
    hooks = getattr(connection, "run_on_commit", None)
    batches = _batches()
    key = (connection.alias, tuple(connection.savepoint_ids))
    batch = batches.get(key)
    if batch is None or batch.hooks is not hooks:
        for old in [k for k, b in batches.items() if b.hooks is not hooks]:
            del batches[old]
        batch = batches[key] = _Batch(hooks, connection.alias)
    return batch


def cover(tags: Iterable[str], using: str) -> None:
    """Record ``tags`` in the outbox row of the transaction open on ``using``.

    The execute wrapper calls this *before* a tracked statement runs inside a
    transaction; ``bump_on_commit`` after it then finds the row up to date.
    """
    connection = connections[using]
    if _in_transaction_that_commits(connection):
        _batch(connection).cover(tags)


def _in_transaction_that_commits(connection: Any) -> bool:
    """Inside ``atomic()`` that Django commits (its on_commit callbacks run then), not an
    ``atomic()`` inside a manual transaction: Django commits nothing at its end, and keeps
    its callbacks until ``set_autocommit(True)``, which ``"AUTOCOMMIT": False`` never calls.
    A write there is held like any other write of the manual transaction."""
    return connection.in_atomic_block and getattr(connection, "commit_on_exit", True)


def _on_commit_first(connection: Any, callback: Callable[[], None]) -> None:
    """``transaction.on_commit(callback, robust=True)``, but ahead of the application's own
    callbacks: they run with the cache already invalidated (one reading a cached page
    after the commit gets the new data), and one of theirs that raises cannot stop ours.
    Ours keep their order among themselves; Django's savepoint bookkeeping is the same
    (the entry carries the current savepoint ids, as ``on_commit()`` records it)."""
    hooks = connection.run_on_commit
    at = next((i for i, hook in enumerate(hooks) if not _ours(hook[1])), len(hooks))
    hooks.insert(at, (set(connection.savepoint_ids), callback, True))


def _ours(func: Any) -> bool:
    return isinstance(getattr(getattr(func, "func", None), "__self__", None), _Batch) or (
        isinstance(func, _Held)
    )


def bump_on_commit(tags: Iterable[str], using: str | None = None) -> None:
    """Bump ``tags`` once the current transaction on ``using`` commits (now in autocommit).

    Every write registers an ``on_commit`` callback, so Django's own rules apply
    (nothing runs for a rolled-back savepoint or transaction; test helpers that
    capture callbacks see them), but the callbacks of one savepoint context share
    a batch: the first to run sends one bump for all, the others find nothing.
    A rolled-back savepoint's batch never runs, so its writes bump nothing.
    The batch's outbox row is written in the transaction; in autocommit, a bump
    that fails is written to the outbox afterwards (a crash in between loses it:
    the execute wrapper's own bump, which has its row first, covers the statement).
    """
    tags = list(tags)
    if not tags:
        return
    using = using or DEFAULT_DB_ALIAS
    connection = connections[using]
    if _in_transaction_that_commits(connection):
        _on_commit_first(connection, _batch(connection).add(tags))
    elif connection.in_atomic_block or not connection.get_autocommit():
        hold_until_commit(tags, connection)
    elif not bump(tags, keep=False):  # already committed: keep it, on the written database
        outbox.record(connection, tags)


# --------------------------------------------------------------------------- manual transactions
#
# With ``transaction.set_autocommit(False)`` or ``"AUTOCOMMIT": False``, Django runs no
# on_commit callbacks (``on_commit()`` refuses) and signals nothing on ``commit()``. So a
# write there (1) *holds* its tags at once: until the commit is seen, no entry that depends
# on them is served or stored, by any process (``Store.bump(hold=...)``); (2) is written to
# the outbox inside the same transaction, so once committed its bump cannot be lost; and
# (3) is bumped for good as soon as this thread sees the transaction end: Django's own
# commit hooks run it (``set_autocommit(True)`` after ``commit()``), and ``settle()`` does,
# called at the next tracked write, the next cache read in this thread and the end of the
# request, once the connection shows a ``commit()`` (Django sets
# ``run_commit_hooks_on_set_autocommit_on``) or a rollback (Django replaces its hook list).


class _Held:
    """The held tags of one manual transaction on one connection."""

    __slots__ = (
        *("connection", "tags", "row", "hooks", "committed_before", "hook"),
        *("release_until", "__weakref__"),
    )

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.tags: set[str] = set()
        self.row: outbox.Row | None = None
        self.hooks = connection.run_on_commit
        # A commit() whose flag could not be reset (other hooks wait on it) hides the next
        # one: then only a rollback, Django's hooks or the outbox (after commit) end it.
        self.committed_before = connection.run_commit_hooks_on_set_autocommit_on
        # The entry Django's on_commit() would append: (savepoint ids, callback, robust).
        self.hook = (set(), self, True)
        self.release_until = 0  # the end of its last hold (epoch ms): its bump ends those

    def held(self, until_ms: int) -> None:
        """One of its holds landed, ending no later than ``until_ms``."""
        self.release_until = max(self.release_until, until_ms)

    def __call__(self) -> None:
        """Committed (as one of Django's commit hooks, or seen by ``settle``)."""
        self.finish()

    def finish(self) -> None:
        with _open_lock:
            _open.discard(self)
        held = _held_transactions()
        if held.get(self.connection.alias) is self:
            del held[self.connection.alias]
        hooks = self.connection.run_on_commit
        if any(hook is self.hook for hook in hooks):
            hooks[:] = [hook for hook in hooks if hook is not self.hook]
        ending(self)
        landed = bump(sorted(self.tags), keep=self.row is None, release=self.release_until)
        forget_unheld(self)  # what did not land is pending now
        if landed and self.row is not None:
            with outbox.quiet():
                outbox.discard(self.connection, self.row)


def _held_transactions() -> dict[str, _Held]:
    found = getattr(_local, "held", None)
    if found is None:
        found = _local.held = {}
    return found


_open: weakref.WeakSet[_Held] = weakref.WeakSet()  # manual transactions with holds, all threads
_open_lock = threading.Lock()


@on_new_alias
def _not_held_in_new_alias(alias: str) -> None:
    """A cache alias first used now missed the holds of the transactions open now."""
    with _open_lock:
        entries = list(_open)
    for entry in entries:
        not_held(alias, entry, sorted(entry.tags))


def hold_until_commit(tags: Iterable[str], connection: Any) -> None:
    """Hold ``tags`` now; bump them once this manual transaction's commit is seen."""
    settle()
    tags = list(tags)
    held = _held_transactions()
    current = held.get(connection.alias)
    if current is None:
        current = held[connection.alias] = _Held(connection)
        with _open_lock:
            _open.add(current)
        connection.run_on_commit.append(current.hook)  # run by set_autocommit(True) after commit()
    current.tags.update(tags)
    if connection.in_atomic_block:
        # Inside atomic(): its savepoint may be rolled back, with any row written in it. A
        # row of its own (left to the periodic flush: one more bump, never one less).
        outbox.record(connection, tags)
    else:
        current.row = outbox.record(connection, current.tags, current.row)
    until = hold_end(HOLD_TTL)  # one end in every cache: the one its release names
    for alias in aliases():
        guard = breaker(alias)
        if not guard.allow():
            not_held(alias, current, tags)
            continue
        try:
            get_store(alias).bump(tags, hold=HOLD_TTL, until=until)
            current.held(until)
        except Exception as exc:
            not_held(alias, current, tags)
            guard.failed(exc, "invalidating")


def settle() -> None:
    """Bump the held tags of every manual transaction of this thread that has ended."""
    held = getattr(_local, "held", None)
    if not held:
        return
    for entry in list(held.values()):
        connection = entry.connection
        if connection.run_on_commit is not entry.hooks:  # rolled back (rollback() replaces it)
            entry.row = None  # the outbox row went with the transaction
            entry.finish()  # a bump is harmless, and it lifts the hold at once
        elif connection.run_commit_hooks_on_set_autocommit_on and not entry.committed_before:
            entry.finish()
            if not connection.run_on_commit:
                # Consumed: with no hooks left, resetting Django's flag changes nothing for
                # Django, and lets the next manual transaction's commit be told apart.
                connection.run_commit_hooks_on_set_autocommit_on = False


def bump_written(tags: list[str], connection: Any, row: outbox.Row | None) -> None:
    """Bump after an autocommit write whose outbox ``row`` was committed with it.

    Once the bump has landed the row is acknowledged (deleted later, in a batch); if it
    did not, the row stays for the next flush.
    """
    if row is autocommit.LEASED:  # no row: if the bump does not land, one now
        try:
            if not bump(tags, keep=False):
                outbox.keep(tags, connection.alias)
        finally:
            leases.leave()  # (entered by ``autocommit.write``)
        return
    if bump(tags, keep=row is None):
        backlog.acknowledge(connection, row)


def invalidate(*deps: Dependency) -> None:
    """Make every entry depending on ``deps`` stale, now.

    A model class reaches entries on the model and on any of its rows; an
    instance reaches entries on that row and on its model; a string is a custom
    tag or ``"app_label.ModelName"``. Inside a transaction, prefer
    ``transaction.on_commit(lambda: invalidate(obj))``.
    """
    tags = bump_tags(deps)
    track(dependency_models(deps))
    bump(tags)


def invalidate_all() -> None:
    """Make every entry this app stored stale (one global token)."""
    bump([GLOBAL])
