"""The Redis Cluster caches settings name (``django_smartcache.stores.cluster``).

django-redis: ``"OPTIONS": {"CLIENT_CLASS": "django_smartcache.cluster.RedisClusterClient"}``;
Django's own backend: ``"BACKEND": "django_smartcache.cluster.RedisClusterCache"``.
"""

from .stores.cluster import RedisClusterCache, RedisClusterClient

__all__ = ["RedisClusterCache", "RedisClusterClient"]
