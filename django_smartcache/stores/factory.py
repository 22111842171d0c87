"""One store per cache alias: the django-redis store where the cache allows, else the portable one.

``get_store()`` picks :class:`~django_smartcache.stores.redis_store.RedisStore` for
django-redis caches (one round trip per operation, atomic scripts),
:class:`~django_smartcache.stores.cluster_store.ClusterStore` for the Redis Cluster caches
of ``stores.cluster`` (one round trip of wall time per hit), and
:class:`~django_smartcache.stores.cache_store.CacheStore` for any other Django cache
(same semantics through the portable cache API, with more round trips and
without atomic lock release).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches

from ..conf import get_settings, on_settings_change
from .base import Store
from .cache_store import CacheStore
from .cluster import cluster_of
from .cluster_store import ClusterStore
from .redis_store import RedisStore, supports

_stores: dict[tuple[str, str], Store] = {}


def get_store(alias: str | None = None) -> Store:
    """The store for ``alias`` (default: ``SMARTCACHE["CACHE_ALIAS"]``)."""
    conf = get_settings()
    alias = alias or conf.CACHE_ALIAS
    found = _stores.get((alias, conf.KEY_PREFIX))
    if found is None:
        found = _make_store(alias, caches[alias], conf.KEY_PREFIX)
        _stores[(alias, conf.KEY_PREFIX)] = found
    return found


def _make_store(alias: str, cache: Any, prefix: str) -> Store:
    access = cluster_of(cache)
    if access is not None:
        return ClusterStore(alias, cache, prefix, access)
    if supports(cache):
        return RedisStore(alias, cache, prefix)
    return CacheStore(alias, cache, prefix)


@on_settings_change
def reset() -> None:
    """Forget stores (settings changed)."""
    _stores.clear()
