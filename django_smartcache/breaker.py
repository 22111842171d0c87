"""``django_smartcache.breaker.counters()``, at the path the README documents.

The circuit breaker is ``core.breaker``.
"""

from .core.breaker import counters

__all__ = ["counters"]
