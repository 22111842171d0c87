"""``django_smartcache.outbox.counters()``, at the path the README documents.

The invalidation outbox is ``invalidation.outbox`` (its flush: ``invalidation.recovery``).
"""

from .invalidation.outbox import counters

__all__ = ["counters"]
