"""Send bumps to every cache this process stores entries in; keep what did not land.

A bump that cannot reach a cache (its breaker open, an error, replicas that did not
confirm it) is kept *pending*: retried by the next request, and until it lands this
process serves nothing from that cache (``recovery.pending_ok`` asks ``retry``). The same
holds for a manual transaction's hold that did not reach a cache (``not_held``).
"""

from __future__ import annotations

import atexit
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..conf import get_settings
from ..core.breaker import breaker
from ..stores.factory import get_store
from . import leases, outbox

HOLD_TTL = 600.0  # seconds a hold outlives a transaction that neither commits nor ends

_extra_aliases: set[str] = set()
# alias -> tag -> the generation it was last kept in: a bump that lands removes only the
# tags it sent, as they were when it took them (``_bump_alias``).
_pending: dict[str, dict[str, int]] = {}
_generations = itertools.count(1)
# alias -> manual transactions' writes whose hold did not reach that cache (``_unheld``).
_unheld: dict[str, dict[object, tuple[Any, tuple[str, ...], float]]] = {}
_lock = threading.Lock()
_landed_listeners: list[Callable[[list[str]], None]] = []


def on_landed(listener: Callable[[list[str]], None]) -> None:
    """Call ``listener(tags)`` after each bump that reached every cache (write-through)."""
    _landed_listeners.append(listener)


def use_alias(alias: str | None) -> None:
    """Remember a cache alias that entries are stored in (bumps reach it too)."""
    if alias:
        _extra_aliases.add(alias)


def aliases() -> list[str]:
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
    landed = [_bump_alias(alias, tags, force=alias == force) for alias in aliases()]
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
    timer = threading.Timer(delay, lambda: [_bump_alias(a, tags) for a in aliases()])
    timer.daemon = True
    timer.start()


def _keep(alias: str, tags: Iterable[str]) -> None:
    """Add ``tags`` to the pending bumps of ``alias``, in a new generation (under ``_lock``)."""
    generation = next(_generations)
    found = _pending.setdefault(alias, {})
    for tag in tags:
        found[tag] = generation


def keep_pending(alias: str, tags: Iterable[str]) -> None:
    """Count ``tags`` as not landed in ``alias`` (retried; the process bypasses it)."""
    with _lock:
        _keep(alias, tags)


def _bump_alias(alias: str, tags: Iterable[str], *, force: bool = False) -> bool:
    # Pending tags stay in ``_pending`` while they are being bumped again: until the bump
    # has landed, other threads must still see them (``retry``: serve nothing from the
    # cache). Once it landed, only the tags it sent are removed, and only if no other
    # thread kept them again meanwhile (a bump of theirs skipped or failed while this one
    # was in flight: this one did not cover it); those stay for the retry.
    with _lock:
        sent = dict(_pending.get(alias, {}))
    todo = set(sent)
    todo.update(tags)
    if not todo:
        return True
    guard = breaker(alias)
    if not force and not guard.allow():
        keep_pending(alias, todo)  # the cache is being skipped: keep it for the retry
        return False
    try:
        get_store(alias).bump(sorted(todo))
    except Exception as exc:
        keep_pending(alias, todo)
        guard.failed(exc, "invalidating")
        return False
    with _lock:
        left = _pending.get(alias)
        if left is not None:
            for tag, generation in sent.items():
                if left.get(tag) == generation:
                    del left[tag]
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
    if alias not in _pending and alias not in _unheld:
        return True
    if breaker(alias).blocked():
        return False  # the outbox flush just failed to reach it: do not wait again
    if alias in _unheld:
        _hold_again(alias)
    if alias in _pending:
        _bump_alias(alias, (), force=True)
    return alias not in _pending and alias not in _unheld


# A hold that did not reach a cache (its breaker open, or the hold failed) leaves this
# process bypassing that cache until the transaction's bump lands (``retry``: the breaker
# may close before the commit, and nothing else would remember the write), and is sent
# again by the first request that finds the cache back, so other processes see it too.


def not_held(alias: str, entry: Any, tags: list[str]) -> None:
    with _lock:
        found = _unheld.setdefault(alias, {})
        found[object()] = (entry, tuple(tags), time.monotonic() + HOLD_TTL)


def forget_unheld(entry: Any) -> None:
    """``entry``'s transaction ended and its bump was sent (landed or now pending)."""
    with _lock:
        for alias in list(_unheld):
            waiting = _unheld[alias]
            for key in [k for k, held in waiting.items() if held[0] is entry]:
                del waiting[key]
            if not waiting:
                del _unheld[alias]


def _hold_again(alias: str) -> None:
    """Send the holds that did not reach ``alias`` (a request found it back)."""
    with _lock:
        waiting = list(_unheld.get(alias, {}).items())
    for key, (_, tags, until) in waiting:
        alive = time.monotonic() < until  # past HOLD_TTL, a hold in Redis would be gone
        if alive:
            try:
                get_store(alias).bump(tags, hold=HOLD_TTL)
            except Exception as exc:
                breaker(alias).failed(exc, "invalidating")
                return
        with _lock:
            found = _unheld.get(alias, {})
            ended = key not in found
            found.pop(key, None)
            if not found:
                _unheld.pop(alias, None)
        if ended and alive:
            # The transaction ended while this hold was on its way: its bump may have
            # come first; one more lifts the hold at once (rather than after HOLD_TTL).
            _bump_alias(alias, tags, force=True)  # (``retry`` runs it: allowed)
