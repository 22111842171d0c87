"""Redis Cluster as a Django cache, for django-redis users and for Django's own backend.

Settings name these classes as ``django_smartcache.cluster.*`` (a thin module at the top,
like the others Django and settings look up).

Both build redis-py's own ``redis.cluster.RedisCluster`` (no home-made cluster client)
from ``LOCATION`` (one URL or a list of them: the startup nodes) and work as ordinary
Django caches: the multi-key operations that a cluster refuses across hash slots
(``get_many``, ``clear``) are spread over the nodes. ``stores`` picks
:class:`~django_smartcache.stores.cluster_store.ClusterStore` for either, through
:func:`cluster_of`.

django-redis::

    CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": ["redis://10.0.0.1:7000/0", "redis://10.0.0.2:7000/0"],
        "OPTIONS": {"CLIENT_CLASS": "django_smartcache.cluster.RedisClusterClient"},
    }}

Django's built-in Redis backend::

    CACHES = {"default": {
        "BACKEND": "django_smartcache.cluster.RedisClusterCache",
        "LOCATION": "redis://10.0.0.1:7000/0",
    }}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django_redis.client import DefaultClient
from redis.cluster import ClusterNode, RedisCluster

# Options of a standalone pool that RedisCluster does not take.
_NOT_FOR_CLUSTER = ("parser_class", "pool_class", "connection_pool_class", "db")


def connect(urls: Any, **options: Any) -> RedisCluster:
    """A RedisCluster over the startup nodes ``urls`` (credentials and TLS from the first,
    which redis-py parses; with a URL, node pools take ``connection_class`` too)."""
    from urllib.parse import urlsplit

    if isinstance(urls, str):
        urls = urls.split(",")
    urls = [str(url).strip() for url in urls]
    others = [urlsplit(url) for url in urls[1:]]
    kwargs = {k: v for k, v in options.items() if k not in _NOT_FOR_CLUSTER}
    return RedisCluster(
        url=urls[0],
        startup_nodes=[ClusterNode(u.hostname or "127.0.0.1", u.port or 6379) for u in others],
        **kwargs,
    )


class RedisClusterClient(DefaultClient):
    """django-redis ``CLIENT_CLASS`` for Redis Cluster: every URL of ``LOCATION`` is a
    startup node of one cluster (not a replica, as for ``DefaultClient``).

    ``CONNECTION_POOL_KWARGS`` (``max_connections``, ``connection_class``...) and the
    socket options go to every node's pool.
    """

    def get_next_client_index(self, write: bool = True, tried: Any = None) -> int:
        return 0  # one client: the cluster routes each key itself

    def connect(self, index: int = 0) -> RedisCluster:
        opts = self._options
        options = dict(opts.get("CONNECTION_POOL_KWARGS") or {})
        for name, kwarg in (
            ("SOCKET_TIMEOUT", "socket_timeout"),
            ("SOCKET_CONNECT_TIMEOUT", "socket_connect_timeout"),
            ("PASSWORD", "password"),
            ("USERNAME", "username"),
        ):
            if opts.get(name) is not None:
                options[kwarg] = opts[name]
        return connect(self._server, **options)

    def disconnect(self, index: int = 0, client: Any = None) -> None:
        client = client or self._clients[0]
        if client is not None:
            client.disconnect_connection_pools()

    def get_many(self, keys: Any, version: Any = None, client: Any = None) -> dict:
        client = client or self.get_client(write=False)
        map_keys = {self.make_key(k, version=version): k for k in keys}
        if not map_keys:
            return {}
        values = client.mget_nonatomic(list(map_keys))
        return {
            map_keys[key]: self.decode(value)
            for key, value in zip(map_keys, values, strict=True)
            if value is not None
        }

    def clear(self, client: Any = None) -> None:
        client = client or self.get_client(write=True)
        client.flushdb(target_nodes=RedisCluster.PRIMARIES)


class _ClusterCacheClient(RedisCacheClient):
    """Django's ``RedisCacheClient`` over one RedisCluster (every URL a startup node)."""

    def __init__(self, servers: Any, **options: Any) -> None:
        super().__init__(servers, **options)
        self._cluster: RedisCluster | None = None

    def get_client(self, key: Any = None, *, write: bool = False) -> RedisCluster:
        if self._cluster is None:
            self._cluster = connect(self._servers, **self._pool_options)
        return self._cluster

    def get_many(self, keys: Any) -> dict:
        keys = list(keys)
        values = self.get_client().mget_nonatomic(keys)
        return {
            k: self._serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None
        }

    def set_many(self, data: dict, timeout: Any) -> list:
        # MSET spans slots: one SET per key, in redis-py's cluster pipeline.
        if timeout == 0:
            self.delete_many(list(data))
            return []
        pipeline = self.get_client(write=True).pipeline()
        for key, value in data.items():
            pipeline.set(key, self._serializer.dumps(value), ex=timeout)
        pipeline.execute()
        return []

    def clear(self) -> bool:
        return bool(self.get_client(write=True).flushdb(target_nodes=RedisCluster.PRIMARIES))


class RedisClusterCache(RedisCache):
    """Django's built-in ``RedisCache`` on a Redis Cluster (``BACKEND`` path)."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClusterCacheClient


class ClusterAccess(NamedTuple):
    """What the cluster store needs of a cache: the client, its keys and its payloads."""

    client: RedisCluster
    make_key: Callable[[str], str]
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


def cluster_of(cache: Any) -> ClusterAccess | None:
    """How to reach the cluster behind ``cache``, or ``None`` when it is no cluster cache."""
    if isinstance(cache, RedisClusterCache):
        inner = cache._cache
        serializer = inner._serializer

        def encode(value: Any) -> bytes:
            out = serializer.dumps(value)
            return str(out).encode() if isinstance(out, int) else out

        return ClusterAccess(
            inner.get_client(write=True),
            lambda key: cache.make_key(key),
            encode,
            serializer.loads,
        )
    client = getattr(cache, "client", None) if _is_django_redis(cache) else None
    if isinstance(client, RedisClusterClient):
        return ClusterAccess(
            client.get_client(write=True),
            lambda key: str(client.make_key(key)),
            lambda value: client.encode(value, allow_int=False),
            client.decode,
        )
    return None


def _is_django_redis(cache: Any) -> bool:
    from django_redis.cache import RedisCache as DjangoRedisCache

    return isinstance(cache, DjangoRedisCache)
