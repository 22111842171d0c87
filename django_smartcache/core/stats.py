"""Hit / miss / stale / bypass counters: counted in process, flushed to the cache in batches.

Counting an event costs no Redis round trip: it increments an in-process
counter. When a request ends and ``FLUSH_INTERVAL`` seconds have passed since
the last flush (and at process exit), the counters are added to one hash per
cache alias, in one pipeline. The admin page and ``manage.py smartcache stats``
read and sum those hashes.

Fields are ``"<kind>|<name>|<event>"``: ``kind`` is ``view`` or ``function``,
``event`` one of :data:`EVENTS`, or ``dep:<app_label.model>`` for a model that
a computation discovered at run time (through ``depend_on``).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.core.signals import request_finished

from ..stores.factory import get_store
from .breaker import breaker

EVENTS = ("HIT", "MISS", "STALE", "BYPASS")
DEP = "dep:"
FLUSH_INTERVAL = 5.0

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


def discovered(alias: str, kind: str, name: str, tags: Iterable[str]) -> None:
    """Count the models a computation depended on at run time (from its discovered tags)."""
    labels = {tag[2:].split(":", 1)[0] for tag in tags if tag[:2] in ("m:", "r:")}
    if labels:
        with _lock:
            for label in labels:
                _counts[(alias, field(kind, name, DEP + label))] += 1


def flush() -> None:
    """Add this process's counters to the shared ones now; keep them if that fails."""
    global _last_flush
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
                get_store(alias).add_stats(counts)
            except Exception as exc:
                guard.failed(exc, "saving statistics")
            else:
                guard.succeeded()
                continue
        with _lock:  # kept for the next flush; bounded: one counter per name and event
            _counts.update({(alias, name): amount for name, amount in counts.items()})


def flush_soon(**kwargs: Any) -> None:
    """``request_finished`` receiver: flush when ``FLUSH_INTERVAL`` has passed."""
    if _counts and time.monotonic() - _last_flush >= FLUSH_INTERVAL:
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
        _last_flush = time.monotonic()
