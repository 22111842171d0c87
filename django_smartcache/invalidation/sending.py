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
from ..stores.base import hold_end
from ..stores.factory import get_store
from . import leases, outbox

HOLD_TTL = 600.0  # seconds a hold outlives a transaction that neither commits nor ends

_extra_aliases: set[str] = set()
# alias -> tag -> the generation it was last kept in: a bump that lands removes only the
# tags it sent, as they were when it took them (``_bump_alias``).
_pending: dict[str, dict[str, int]] = {}
_generations = itertools.count(1)
_releasing: dict[str, dict[str, int]] = {}  # alias -> pending tag -> release (Store.bump)
# alias -> manual transactions' writes whose hold did not reach that cache (``not_held``).
_unheld: dict[str, dict[object, _Missed]] = {}
_lock = threading.Lock()
_landed_listeners: list[Callable[[list[str]], None]] = []
_new_alias_listeners: list[Callable[[str], None]] = []


def on_landed(listener: Callable[[list[str]], None]) -> None:
    """Call ``listener(tags)`` after each bump that reached every cache (write-through)."""
    _landed_listeners.append(listener)


def use_alias(alias: str | None) -> None:
    """Remember a cache alias that entries are stored in (bumps reach it too).

    A new one did not get the holds of the manual transactions open now (they reached
    the aliases known then): they count as missed there (``not_held``)."""
    if alias and alias not in _extra_aliases:
        new = alias not in aliases()
        _extra_aliases.add(alias)
        if new:
            for listener in _new_alias_listeners:
                listener(alias)


def on_new_alias(listener: Callable[[str], None]) -> Callable[[str], None]:
    """Call ``listener(alias)`` when a cache alias is first used (``use_alias``)."""
    _new_alias_listeners.append(listener)
    return listener


def aliases() -> list[str]:
    default = get_settings().CACHE_ALIAS
    return [default, *sorted(_extra_aliases - {default})]


def bump(
    tags: Iterable[str], *, force: str | None = None, keep: bool = True, release: int = 0
) -> bool:
    """Bump ``tags`` now in every cache this process stores entries in.

    Returns whether the bump reached all of them. A cache whose breaker is open is
    not tried (the bump waits in ``_pending``), except ``force``, the cache a
    recovering request is probing. With ``keep``, a bump that did not land is also
    written to the outbox, so that it outlives this process; callers whose bump
    already has an outbox row pass ``keep=False``. ``release``: the bump of a manual
    transaction that held its tags, the end of its last hold (``Store.bump``).
    """
    tags = list(tags)
    landed = [
        _bump_alias(alias, tags, force=alias == force, release=release) for alias in aliases()
    ]
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


def keep_pending(alias: str, tags: Iterable[str], release: int = 0) -> None:
    """Count ``tags`` as not landed in ``alias`` (retried; the process bypasses it), in a
    new generation; with ``release``, their retry ends the holds that end by then."""
    with _lock:
        generation = next(_generations)
        found = _pending.setdefault(alias, {})
        releasing = _releasing.setdefault(alias, {}) if release else {}
        for tag in tags:
            found[tag] = generation
            if release:
                releasing[tag] = max(release, releasing.get(tag, 0))


def _bump_alias(alias: str, tags: Iterable[str], *, force: bool = False, release: int = 0) -> bool:
    # Pending tags stay in ``_pending`` while they are being bumped again: until the bump
    # has landed, other threads must still see them (``retry``: serve nothing from the
    # cache). Once it landed, only the tags it sent are removed, and only if no other
    # thread kept them again meanwhile (a bump of theirs skipped or failed while this one
    # was in flight: this one did not cover it); those stay for the retry.
    tags = list(tags)  # read twice below
    with _lock:
        sent = dict(_pending.get(alias, {}))
        releasing = dict(_releasing.get(alias, {}))
    todo = set(sent)
    todo.update(tags)
    if not todo:
        return True
    # Each tag is released up to what was asked for it: ``release`` for ``tags``, a
    # pending release for its own pending tags; never a release for a tag nobody held
    # (an open transaction's hold on it would end). One bump per distinct release.
    asked = set(tags)
    groups: dict[int, list[str]] = {}
    for tag in sorted(todo):
        own = max(release if tag in asked else 0, releasing.get(tag, 0) if tag in sent else 0)
        groups.setdefault(own, []).append(tag)
    guard = breaker(alias)
    if not force and not guard.allow():
        for own, group in groups.items():  # the cache is being skipped: kept for the retry
            keep_pending(alias, group, own)
        return False
    try:
        for own, group in groups.items():
            get_store(alias).bump(group, release=own)
    except Exception as exc:
        for own, group in groups.items():  # what landed is bumped again: never one less
            keep_pending(alias, group, own)
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
        releasing = _releasing.get(alias)
        if releasing is not None:
            for tag in releasing.keys() - _pending.get(alias, {}).keys():
                del releasing[tag]
            if not releasing:
                del _releasing[alias]
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


class _Missed:
    """One manual-transaction write whose hold did not reach a cache."""

    __slots__ = ("entry", "tags", "until", "sending", "ending")

    def __init__(self, entry: Any, tags: tuple[str, ...]) -> None:
        self.entry, self.tags = entry, tags
        self.until = time.monotonic() + HOLD_TTL  # a hold in Redis would be gone by then
        self.sending = False  # a request is sending its hold now (one at a time)
        self.ending = False  # its transaction ended: its own bump is on its way


def not_held(alias: str, entry: Any, tags: list[str]) -> None:
    with _lock:
        _unheld.setdefault(alias, {})[object()] = _Missed(entry, tuple(tags))


def ending(entry: Any) -> None:
    """``entry``'s transaction ended; call before its bump is sent (a hold sent again
    that lands after that bump is then lifted by the sender)."""
    with _lock:
        for waiting in _unheld.values():
            for missed in waiting.values():
                if missed.entry is entry:
                    missed.ending = True


def forget_unheld(entry: Any) -> None:
    """``entry``'s transaction ended and its bump was sent (landed or now pending)."""
    with _lock:
        for alias, waiting in list(_unheld.items()):
            for key in [k for k, missed in waiting.items() if missed.entry is entry]:
                _drop(alias, key)


def _drop(alias: str, key: object) -> None:
    """(under ``_lock``)"""
    waiting = _unheld.get(alias)
    if waiting is not None:
        waiting.pop(key, None)
        if not waiting:
            del _unheld[alias]


def _hold_again(alias: str) -> None:
    """Send the holds that did not reach ``alias`` (a request found it back)."""
    with _lock:
        todo = [
            (key, missed)
            for key, missed in _unheld.get(alias, {}).items()
            if not missed.sending and not missed.ending
        ]
        for _, missed in todo:
            missed.sending = True
    for key, missed in todo:
        # The end its holds got elsewhere (its release names it): a fresh, later end would
        # make its release reach the holds other transactions made since, in every cache.
        until = getattr(missed.entry, "release_until", 0) or hold_end(HOLD_TTL)
        if time.monotonic() < missed.until:
            try:
                get_store(alias).bump(missed.tags, hold=HOLD_TTL, until=until)
                missed.entry.held(until)
            except Exception as exc:
                with _lock:
                    for _, later in todo:
                        later.sending = False
                breaker(alias).failed(exc, "invalidating")
                return
        with _lock:
            _drop(alias, key)
            lift = missed.ending
        if lift:
            # The transaction ended while this hold was on its way: its own bump may have
            # landed first; one more ends the hold at once (rather than after HOLD_TTL).
            _bump_alias(alias, missed.tags, force=True, release=until)  # (``retry``)
