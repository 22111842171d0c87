"""Settings for the benchmark servers and the in-process benchmark sections.

The demo shop's settings (same apps, same middleware stack, same templates) with:

- MariaDB and Redis required (``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``; the runner sets them),
  never SQLite or the in-process fakeredis;
- ``DEBUG`` off (Django would otherwise record every query);
- a second cache alias, ``django``, on its own Redis database, for Django's own ``cache_page``
  variant, so the two caches never share keys and their commands can be told apart;
- ``bench.urls``: the shop plus the bench-only variants of the product page.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "0")

import dj_database_url  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from example_project.demo.settings import *  # noqa: E402, F403
from example_project.demo.settings import SMARTCACHE  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
WSGI_APPLICATION = "bench.wsgi.application"

_database_url = os.environ.get("BENCH_DATABASE_URL", "").strip()
_redis_url = os.environ.get("BENCH_REDIS_URL", "").strip()
_django_redis_url = os.environ.get("BENCH_DJANGO_REDIS_URL", "").strip()
if not (_database_url and _redis_url and _django_redis_url):
    raise ImproperlyConfigured(
        "bench.settings needs BENCH_DATABASE_URL, BENCH_REDIS_URL and BENCH_DJANGO_REDIS_URL "
        "(python3 dev.py bench sets them)."
    )

DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=600)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"

_redis_options = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 2.0}
CACHES = {
    # smartcache's alias (SMARTCACHE["CACHE_ALIAS"] = "default"), as in the demo.
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": _redis_url,
        "OPTIONS": dict(_redis_options),
    },
    # Django's own cache_page variant: the same backend and options, another database.
    "django": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": _django_redis_url,
        "OPTIONS": dict(_redis_options),
    },
}

# The cluster section's second server: smartcache's alias on a local Redis Cluster
# (bench/cluster_throughput.py starts it and sets the URL).
_cluster_url = os.environ.get("BENCH_REDIS_CLUSTER_URL", "").strip()
if _cluster_url:
    CACHES["default"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": _cluster_url,
        "OPTIONS": {
            **_redis_options,
            "CLIENT_CLASS": "django_smartcache.cluster.RedisClusterClient",
        },
    }

SMARTCACHE = {**SMARTCACHE}
# The local section's server: the process-local tier on (bench/local_tier.py sets it).
if os.environ.get("BENCH_LOCAL_TIER", "").strip() == "1":
    SMARTCACHE["LOCAL"] = {}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_smartcache": {"handlers": ["console"], "level": "WARNING"}},
}
