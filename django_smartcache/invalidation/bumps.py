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

import atexit
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from ..conf import get_settings
from ..core.breaker import breaker
from ..core.tags import GLOBAL, Dependency, bump_tags, dependency_models
from ..stores.factory import get_store
from . import autocommit, backlog, leases, outbox
from .tracking import track

_extra_aliases: set[str] = set()
_pending: dict[str, set[str]] = {}
_lock = threading.Lock()
_local = threading.local()
_landed_listeners: list[Callable[[list[str]], None]] = []


def on_landed(listener: Callable[[list[str]], None]) -> None:
    """Call ``listener(tags)`` after each bump that reached every cache (write-through)."""
    _landed_listeners.append(listener)


def use_alias(alias: str | None) -> None:
    """Remember a cache alias that entries are stored in (bumps reach it too)."""
    if alias:
        _extra_aliases.add(alias)


def _aliases() -> list[str]:
    default = get_settings().CACHE_ALIAS
    return [default, *sorted(_extra_aliases - {default})]


def bump(tags: Iterable[str], *, force: str | None = None, keep: bool = True) -> bool:
    """Bump ``tags`` now in every cache this process stores entries in.

    Returns whether the bump reached all of them. A cache whose breaker is open is
    not tried (the bump waits in ``_pending``), except ``force``, the cache a
    recovering request is probing. With ``keep``, a bump that did not land is also
    written to the outbox, so that it outlives this process; callers whose bump
    already has an outbox row pass ``keep=False``.
    """
    tags = list(tags)
    landed = [_bump_alias(alias, tags, force=alias == force) for alias in _aliases()]
    if tags and all(landed):
        for listener in _landed_listeners:
            listener(tags)
    delay = get_settings().REPLICA_DELAY
    if tags and delay:
        _bump_later(tags, delay)
    if tags and keep and not all(landed):
        outbox.keep(tags)
    return all(landed)


def _bump_later(tags: list[str], delay: float) -> None:
    """Bump again once read replicas have caught up (``REPLICA_DELAY``).

    A request that read a lagging replica right after the first bump may have
    stored the old data under the new tokens; the second bump makes it stale.
    """
    timer = threading.Timer(delay, lambda: [_bump_alias(a, tags) for a in _aliases()])
    timer.daemon = True
    timer.start()


def _bump_alias(alias: str, tags: Iterable[str], *, force: bool = False) -> bool:
    # Pending tags stay in ``_pending`` while they are being bumped again: until the bump
    # has landed, other threads must still see them (``retry``: serve nothing from the
    # cache). They are removed only once it landed.
    with _lock:
        todo = set(_pending.get(alias, ()))
    todo.update(tags)
    if not todo:
        return True
    guard = breaker(alias)
    if not force and not guard.allow():
        with _lock:  # the cache is being skipped: keep it for the retry
            _pending.setdefault(alias, set()).update(todo)
        return False
    try:
        get_store(alias).bump(sorted(todo))
    except Exception as exc:
        with _lock:
            _pending.setdefault(alias, set()).update(todo)
        guard.failed(exc, "invalidating")
        return False
    with _lock:
        left = _pending.get(alias)
        if left is not None:
            left -= todo
            if not left:
                del _pending[alias]
    guard.succeeded()
    return True


def _exit() -> None:
    """At exit: give up this process's writer leases (left to be reclaimed, which makes
    every entry stale, if some of its bumps never landed)."""
    leases.give_up(keep_rows=bool(_pending))


atexit.register(_exit)


def retry(alias: str) -> bool:
    """Retry this process's pending bumps for ``alias``; whether none is left.

    ``recovery.pending_ok`` calls it after the outbox check; false while a bump for
    ``alias`` has not landed.
    """
    if alias not in _pending:
        return True
    if breaker(alias).blocked():
        return False  # the outbox flush just failed to reach it: do not wait again
    _bump_alias(alias, (), force=True)
    return alias not in _pending


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
    if connection.in_atomic_block:
        _batch(connection).cover(tags)


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
    if connection.in_atomic_block:
        _on_commit_first(connection, _batch(connection).add(tags))
    elif not connection.get_autocommit():
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

HOLD_TTL = 600.0  # seconds a hold outlives a transaction that neither commits nor ends


class _Held:
    """The held tags of one manual transaction on one connection."""

    __slots__ = ("connection", "tags", "row", "hooks", "committed_before", "hook")

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

    def __call__(self) -> None:
        """Committed (as one of Django's commit hooks, or seen by ``settle``)."""
        self.finish()

    def finish(self) -> None:
        held = _held_transactions()
        if held.get(self.connection.alias) is self:
            del held[self.connection.alias]
        hooks = self.connection.run_on_commit
        if any(hook is self.hook for hook in hooks):
            hooks[:] = [hook for hook in hooks if hook is not self.hook]
        if bump(sorted(self.tags), keep=self.row is None) and self.row is not None:
            with outbox.quiet():
                outbox.discard(self.connection, self.row)


def _held_transactions() -> dict[str, _Held]:
    found = getattr(_local, "held", None)
    if found is None:
        found = _local.held = {}
    return found


def hold_until_commit(tags: Iterable[str], connection: Any) -> None:
    """Hold ``tags`` now; bump them once this manual transaction's commit is seen."""
    settle()
    tags = list(tags)
    held = _held_transactions()
    current = held.get(connection.alias)
    if current is None:
        current = held[connection.alias] = _Held(connection)
        connection.run_on_commit.append(current.hook)  # run by set_autocommit(True) after commit()
    current.tags.update(tags)
    current.row = outbox.record(connection, current.tags, current.row)
    for alias in _aliases():
        guard = breaker(alias)
        if not guard.allow():
            continue  # this process bypasses that cache; the outbox bumps it after commit
        try:
            get_store(alias).bump(tags, hold=HOLD_TTL)
        except Exception as exc:
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
