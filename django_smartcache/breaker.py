"""Back off from an unreachable cache instead of waiting on it every request.

After a failure, the process bypasses the cache for ``ERROR_BACKOFF`` seconds,
doubling on each further failure up to ``ERROR_BACKOFF_MAX``; a success closes
the breaker. Failures are logged when the breaker opens and when it closes,
so an outage writes a handful of lines, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time

from .conf import get_settings

logger = logging.getLogger("django_smartcache")


class Breaker:
    """Per-process circuit breaker for one cache alias."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.failures = 0
        self.open_until = 0.0
        self.errors = 0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Whether to try the cache now."""
        return self.open_until == 0.0 or time.monotonic() >= self.open_until

    def failed(self, exc: BaseException, doing: str) -> None:
        conf = get_settings()
        with self._lock:
            self.failures += 1
            self.errors += 1
            backoff = min(conf.ERROR_BACKOFF * 2 ** (self.failures - 1), conf.ERROR_BACKOFF_MAX)
            self.open_until = time.monotonic() + backoff
            first = self.failures == 1
        if first:
            logger.error(
                "Cache %r failed while %s (%s: %s); bypassing it for %.1fs.",
                self.alias,
                doing,
                type(exc).__name__,
                exc,
                backoff,
            )
        else:
            logger.debug(
                "Cache %r still failing (%s); backing off %.1fs.", self.alias, exc, backoff
            )

    def succeeded(self) -> None:
        if self.failures:
            with self._lock:
                failures, self.failures, self.open_until = self.failures, 0, 0.0
            logger.warning("Cache %r is back after %d failed attempts.", self.alias, failures)


_breakers: dict[str, Breaker] = {}


def breaker(alias: str) -> Breaker:
    found = _breakers.get(alias)
    if found is None:
        found = _breakers.setdefault(alias, Breaker(alias))
    return found
