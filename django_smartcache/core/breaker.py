"""Back off from an unreachable cache instead of waiting on it every request.

One breaker per cache alias, per process:

* **Closed**: every call tries the cache. ``allow()`` costs one comparison.
* **Open**: after a failure the process skips the cache for ``ERROR_BACKOFF``
  seconds, doubling on each further failed attempt up to ``ERROR_BACKOFF_MAX``.
  Calls that were already waiting on the cache when it opened fail too, but do
  not lengthen the back-off: only the failure that opens it and failed probes do.
* **Probing**: when the back-off is over, one call is let through (a probe);
  the others keep skipping the cache until it reports, for at most
  ``PROBE_LEASE`` seconds. A success closes the breaker, a failure reopens it
  with a longer back-off. So during an outage a process makes one attempt per
  back-off period, and at most one request waits on the dead server at a time.

Logging is bounded: one ``ERROR`` when it opens, one ``WARNING`` per
``REMIND_EVERY`` seconds while the cache stays unreachable, one ``WARNING``
when it closes; everything else at ``DEBUG``. ``counters()`` returns the
figures (failures, times opened, calls that skipped the cache) for the admin
page and the ``stats`` command.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import RedisError

from ..conf import get_settings, on_settings_change
from ..stores import local

logger = logging.getLogger("django_smartcache")

PROBE_LEASE = 1.0  # seconds the other calls skip the cache while one probes it
REMIND_EVERY = 60.0  # seconds between "still unreachable" warnings
_clock = time.monotonic


class Breaker:
    """Per-process circuit breaker for one cache alias."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.failures = 0  # consecutive failed attempts; 0 = closed
        self.open_until = 0.0  # monotonic; 0.0 = closed
        self.errors = 0  # every cache error seen, in-flight calls included
        self.opened = 0  # times it went from closed to open
        self.bypassed = 0  # calls that skipped the cache because it was open
        self._probing = False
        self._since = 0.0  # when it opened (monotonic)
        self._reminded = 0.0
        self._lock = threading.Lock()

    @property
    def recovering(self) -> bool:
        """True from the first failure until a success closes the breaker."""
        return self.failures > 0

    def blocked(self) -> bool:
        """Open, and no probe under way (a call just failed and reopened it)."""
        return bool(self.open_until) and not self._probing and _clock() < self.open_until

    def allow(self) -> bool:
        """Whether to try the cache now (closed, or this call is the probe)."""
        if self.open_until == 0.0:
            return True
        with self._lock:
            if self.open_until == 0.0:
                return True
            now = _clock()
            if now < self.open_until:
                self.bypassed += 1
                return False
            # Back-off over: this call probes; the others skip until it reports.
            self.open_until = now + PROBE_LEASE
            self._probing = True
            return True

    def failed(self, exc: BaseException, doing: str) -> None:
        """Record a cache error; open the breaker or lengthen its back-off.

        A programming error is no outage: it is raised again here, so the caller's
        ``except`` lets it through instead of skipping the cache for everyone.
        """
        if not is_outage(exc):
            raise exc
        local.clear_all()  # what this process keeps of the cache is no longer watched
        conf = get_settings()
        with self._lock:
            self.errors += 1
            now = _clock()
            if self.open_until and not self._probing:
                return  # a call that started before the breaker opened
            self._probing = False
            self.failures += 1
            first = self.failures == 1
            if first:
                self.opened += 1
                self._since = self._reminded = now
            backoff = min(conf.ERROR_BACKOFF * 2 ** (self.failures - 1), conf.ERROR_BACKOFF_MAX)
            self.open_until = now + backoff
            remind = not first and now - self._reminded >= REMIND_EVERY
            if remind:
                self._reminded = now
            failures, bypassed, down = self.failures, self.bypassed, now - self._since
        if first:
            logger.error(
                "Cache %r failed while %s (%s: %s); bypassing it for %.1fs.",
                self.alias,
                doing,
                type(exc).__name__,
                exc,
                backoff,
            )
        elif remind:
            logger.warning(
                "Cache %r still unreachable after %.0fs (%d attempts, %d calls bypassed: %s); "
                "next try in %.1fs.",
                self.alias,
                down,
                failures,
                bypassed,
                exc,
                backoff,
            )
        else:
            logger.debug(
                "Cache %r still failing (%s); backing off %.1fs.", self.alias, exc, backoff
            )

    def succeeded(self) -> None:
        """Record a successful call; close the breaker unless the call predates it."""
        if not self.failures:
            return
        with self._lock:
            if not self.failures:
                return
            if not self._probing and _clock() < self.open_until:
                return  # started before the breaker opened: says nothing about now
            failures, self.failures, self.open_until, self._probing = self.failures, 0, 0.0, False
            down = _clock() - self._since
        logger.warning(
            "Cache %r is back after %.1fs and %d failed attempts.", self.alias, down, failures
        )

    def snapshot(self) -> dict[str, Any]:
        """This breaker's state and counters."""
        with self._lock:
            retry_in = max(0.0, self.open_until - _clock()) if self.open_until else 0.0
            return {
                "open": self.failures > 0,
                "retry_in": round(retry_in, 3),
                "failures": self.failures,
                "errors": self.errors,
                "opened": self.opened,
                "bypassed": self.bypassed,
            }


# A bug (a bad argument, a view that returns no response), not the cache failing. Redis
# client errors are outages even when they subclass these (redis-py's DataError).
_PROGRAMMING_ERRORS = (
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
    IndexError,
    NameError,
    AssertionError,
    ImproperlyConfigured,
)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` is the cache failing (bypass, back off), not a bug (raise it)."""
    return isinstance(exc, RedisError) or not isinstance(exc, _PROGRAMMING_ERRORS)


_breakers: dict[str, Breaker] = {}


def breaker(alias: str) -> Breaker:
    found = _breakers.get(alias)
    if found is None:
        found = _breakers.setdefault(alias, Breaker(alias))
    return found


@on_settings_change
def reset() -> None:
    """Forget every breaker: a changed ``CACHES`` may point an alias elsewhere (and an
    override that ends must not leave the real cache skipped)."""
    _breakers.clear()


def counters() -> dict[str, dict[str, Any]]:
    """Per cache alias, this process's breaker state and counters since it started.

    ``open`` / ``retry_in``: whether the cache is being skipped and for how much
    longer; ``failures``: consecutive failed attempts; ``errors``: every cache
    error seen; ``opened``: outages (closed -> open); ``bypassed``: reads, bumps
    and statistics flushes that skipped the cache while it was open.
    """
    return {alias: found.snapshot() for alias, found in sorted(_breakers.items())}
