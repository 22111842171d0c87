"""Hit / miss / stale / bypass counters: counted in process, flushed to the cache in batches.

Counting an event costs no Redis round trip: it increments an in-process
counter. When a request ends and ``FLUSH_INTERVAL`` seconds have passed since
the last flush (and at process exit), the counters are added to one hash per
cache alias, and the same counts to a hash of the current ten-minute bucket that
expires after the window (what "in the last hour" sums), in one pipeline. The
admin page and ``manage.py smartcache stats`` read and sum those hashes.

Fields are ``"<kind>|<name>|<event>"``: ``kind`` is ``view`` or ``function``,
``event`` one of :data:`EVENTS`; ``INVALIDATED`` when a computation replaces an
entry that was invalidated, with ``inv:<source>`` per :func:`source_of` its changed
tags; ``dep:<app_label.model>`` for a model found at run time (``depend_on``, an
inner entry) and ``cap:<app_label.model>`` for one captured from its queries. The
buckets hold the events and ``inv:`` fields only.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.core.signals import request_finished

from ..conf import get_settings
from ..stores import local
from ..stores.factory import get_store
from .breaker import breaker
from .tags import GLOBAL, label_of

EVENTS = ("HIT", "MISS", "STALE", "BYPASS")
INVALIDATED = "INVALIDATED"
DEP, CAP, INV = "dep:", "cap:", "inv:"
FLUSH_INTERVAL = 5.0
BUCKET_SECONDS = 600
WINDOW_BUCKETS = 6  # "the last hour": the current bucket and the five before it

_counts: Counter[tuple[str, str]] = Counter()  # (alias, field) -> events since the last flush
_lock = threading.Lock()
_last_flush = time.monotonic()
_connected = False


def field(kind: str, name: str, event: str) -> str:
    return f"{kind}|{name}|{event}"


def parse(text: str) -> tuple[str, str, str] | None:
    """``(kind, name, event)`` of a counter field, or ``None`` if it is not one."""
    kind, _, rest = text.partition("|")
    name, _, event = rest.rpartition("|")
    return (kind, name, event) if kind and name and event else None


def count(alias: str, kind: str, name: str, event: str) -> None:
    """Count one event of a cached view or function."""
    with _lock:
        _counts[(alias, field(kind, name, event))] += 1


def discovered(
    alias: str, kind: str, name: str, found: Iterable[str], captured: Iterable[str]
) -> None:
    """Count the models a computation depended on at run time: ``found`` (labels of
    ``depend_on()`` and of inner entries) and ``captured`` (from its queries)."""
    with _lock:
        for label in found:
            _counts[(alias, field(kind, name, DEP + label))] += 1
        for label in captured:
            _counts[(alias, field(kind, name, CAP + label))] += 1


def source_of(tag: str) -> str:
    """What a changed tag says was written: the ``app_label.model`` of a model, row,
    purge or insert tag; ``t:<name>`` for a custom tag; ``g`` for ``invalidate_all()``;
    ``u`` for a URL purge."""
    label = label_of(tag)
    if label:
        return label
    if tag == GLOBAL or tag.startswith("t:"):
        return tag
    return tag.split(":", 1)[0]


def invalidated(alias: str, kind: str, name: str, changed: Iterable[str]) -> None:
    """Count a computation that replaces an invalidated entry, and what invalidated it
    (``changed``: the tags whose tokens no longer matched its stamp)."""
    sources = {source_of(tag) for tag in changed}
    if sources:
        with _lock:
            _counts[(alias, field(kind, name, INVALIDATED))] += 1
            for source in sources:
                _counts[(alias, field(kind, name, INV + source))] += 1


def bucket(when: float | None = None) -> int:
    """The number of the ten-minute bucket ``when`` (default: now) falls in."""
    return int((time.time() if when is None else when) // BUCKET_SECONDS)


def window() -> list[int]:
    """The buckets "the last hour" sums: the current one and the five before it."""
    now = bucket()
    return [now - n for n in range(WINDOW_BUCKETS)]


def _recent(counts: dict[str, int]) -> dict[str, int]:
    """The counts the time buckets keep: events and what invalidated, not dependencies."""
    return {
        name: amount
        for name, amount in counts.items()
        if not (name.rpartition("|")[2].startswith((DEP, CAP)) or name.startswith(LOCAL + "|"))
    }


LOCAL = "local"  # kind of the local tier's fields: local|<host>:<pid>|HIT, EVICT, BYTES
_local_seen: dict[str, int] = {}


def _take_local() -> None:
    """Count what this process's local tier did since the last flush (its hits, its
    evictions, and the change in its size, so the shared sum is the size now)."""
    found = local.stats()
    if not found:
        return
    now = {"HIT": found["hits"], "EVICT": found["evictions"], "BYTES": found["bytes"]}
    name = f"{socket.gethostname()}:{os.getpid()}"
    alias = get_settings().CACHE_ALIAS
    with _lock:
        for event, value in now.items():
            delta = value - _local_seen.get(event, 0)
            if delta:
                _counts[(alias, field(LOCAL, name, event))] += delta
            _local_seen[event] = value


def flush() -> None:
    """Add this process's counters to the shared ones now; keep them if that fails."""
    global _last_flush
    _take_local()
    with _lock:
        taken = dict(_counts)
        _counts.clear()
        _last_flush = time.monotonic()
    by_alias: dict[str, dict[str, int]] = {}
    for (alias, name), amount in taken.items():
        by_alias.setdefault(alias, {})[name] = amount
    for alias, counts in by_alias.items():
        guard = breaker(alias)
        if guard.allow():
            try:
                get_store(alias).add_stats(
                    counts, _recent(counts), bucket(), (WINDOW_BUCKETS + 1) * BUCKET_SECONDS
                )
            except Exception as exc:
                guard.failed(exc, "saving statistics")
            else:
                guard.succeeded()
                continue
        with _lock:  # kept for the next flush; bounded: one counter per name and event
            _counts.update({(alias, name): amount for name, amount in counts.items()})


def flush_soon(**kwargs: Any) -> None:
    """``request_finished`` receiver: flush when ``FLUSH_INTERVAL`` has passed."""
    if (_counts or local.active()) and time.monotonic() - _last_flush >= FLUSH_INTERVAL:
        flush()


def _flush_at_exit() -> None:
    with contextlib.suppress(Exception):  # nothing to report to at exit
        flush()


def connect() -> None:
    """Flush at the end of requests and at process exit (called from ``AppConfig.ready``)."""
    global _connected
    request_finished.connect(flush_soon, dispatch_uid="django_smartcache.stats")
    if not _connected:
        atexit.register(_flush_at_exit)
        _connected = True


def reset() -> None:
    """Forget unflushed counters and restart the flush interval (tests)."""
    global _last_flush
    with _lock:
        _counts.clear()
        _local_seen.clear()
        _last_flush = time.monotonic()
