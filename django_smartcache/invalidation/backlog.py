"""Acknowledged autocommit outbox rows, deleted lazily, in batches.

A row whose bump has landed (``acknowledge``) is not deleted at once: its id joins this
process's backlog, deleted ``LAZY`` seconds after the first of a batch with one
``DELETE ... WHERE id IN (...)``: on a server database by a daemon thread on the outbox's
own connection, off the request path; on SQLite (one writer per file: no second
connection) in the next tracked write's transaction (``autocommit``), before this process
flushes, and at the end of each request. Past ``BACKLOG`` ids, the writer deletes them
itself, at once. A row still there is bumped again at worst by another process's flush
(bumps are idempotent); this process deletes its own backlog before it flushes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from typing import Any

from django.db import connections

from . import outbox

LAZY = 0.2  # seconds an acknowledged row waits for the batch that deletes it
BACKLOG = 1000  # acknowledged ids per database at most; past it the writer deletes them

_lock = threading.Lock()
_backlog: dict[Any, list[Any]] = {}  # alias (SQLite: the connection) -> acknowledged ids
_oldest: dict[Any, float] = {}  # same keys -> monotonic time of the first id
_wake = threading.Event()
_deleter: list[Any] = [None, 0]  # the thread, and the pid that started it


def _key(connection: Any) -> Any:
    # SQLite rows are deleted on the thread's own connection: a backlog per connection.
    return connection if connection.vendor == "sqlite" else connection.alias


def acknowledge(connection: Any, row: outbox.Row | None) -> None:
    """``row``'s bump has landed: delete it later, in a batch. Never raises."""
    if row is None or row.id is None:  # (``autocommit.LEASED``: no row)
        return
    key = _key(connection)
    with _lock:
        ids = _backlog.setdefault(key, [])
        if not ids:
            _oldest[key] = time.monotonic()
        ids.append(row.id)
        full = len(ids) >= BACKLOG
    if full:
        tidy(connection)
    elif connection.vendor != "sqlite":
        _start_deleter()
        _wake.set()


def take(key: Any) -> list[Any]:
    with _lock:
        _oldest.pop(key, None)
        return _backlog.pop(key, [])


def give_back(key: Any, ids: list[Any]) -> None:
    with _lock:
        mine = _backlog.setdefault(key, [])
        mine[:0] = ids[: max(0, 10 * BACKLOG - len(mine))]  # beyond: left to the flushes
        _oldest.setdefault(key, time.monotonic())


def tidy(connection: Any) -> int:
    """Delete the backlog of ``connection``'s database now (SQLite: outside a transaction
    only). Returns the number of ids deleted. Never raises."""
    if connection.vendor == "sqlite" and (
        connection.in_atomic_block or not connection.get_autocommit()
    ):
        return 0
    key = _key(connection)
    ids = take(key)
    if not ids:
        return 0
    try:
        for start in range(0, len(ids), outbox.BATCH):
            outbox.delete(connection, ids[start : start + outbox.BATCH])
    except Exception as exc:
        give_back(key, ids)
        outbox.warn_once(connection.alias, "deleting acknowledged rows", exc)
        return 0
    return len(ids)


def tidy_database(alias: str) -> None:
    """Before a flush: delete this process's acknowledged rows of ``alias``."""
    main = connections[alias]
    if main.vendor == "sqlite":
        tidy(main)
        return
    if alias in _backlog:
        with outbox.private(alias) as conn:
            tidy(conn)


def tidy_thread(**kwargs: Any) -> None:
    """End of a request (``request_finished``): this thread's SQLite backlogs."""
    if not _backlog:  # nothing acknowledged anywhere: skip asking for every connection
        return
    for connection in connections.all(initialized_only=True):
        if connection.vendor == "sqlite" and connection in _backlog:
            tidy(connection)


def _start_deleter() -> None:
    thread, pid = _deleter
    if thread is not None and pid == os.getpid() and thread.is_alive():
        return
    with _lock:
        if _deleter[0] is thread:  # not started by another thread meanwhile
            thread = threading.Thread(target=_delete_loop, name="smartcache-outbox", daemon=True)
            _deleter[:] = [thread, os.getpid()]
            thread.start()


def _delete_loop() -> None:
    while True:
        _wake.wait()
        _wake.clear()
        with _lock:
            started = min(_oldest.values(), default=time.monotonic())
        time.sleep(max(0.0, started + LAZY - time.monotonic()))
        _delete_all()


def _delete_all() -> None:
    for key in [key for key in list(_backlog) if isinstance(key, str)]:
        with contextlib.suppress(Exception):
            tidy_database(key)


atexit.register(_delete_all)


def sizes() -> dict[str, int]:
    """Acknowledged ids not deleted yet, per database alias (tests, diagnostics)."""
    with _lock:
        found: dict[str, int] = {}
        for key, ids in _backlog.items():
            alias = key if isinstance(key, str) else key.alias
            found[alias] = found.get(alias, 0) + len(ids)
        return found


def reset() -> None:
    """Forget the backlog, as in a new process."""
    with _lock:
        _backlog.clear()
        _oldest.clear()
