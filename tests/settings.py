"""Django settings for the django-smartcache test suite.

Backends are picked from the environment so the same suite runs with nothing installed and, in CI,
against real services:

- ``SMARTCACHE_TEST_REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/15``): use that Redis server.
  Unset: an in-process fakeredis server (with Lua, via lupa) behind the same django-redis backend.
- ``SMARTCACHE_TEST_REDIS_CLUSTER=1``: a local Redis Cluster (3 masters, one replica each),
  started here on free ports (``tests/redis_cluster.py``) and stopped by PID when the run
  ends; the ``default`` alias uses it through ``django_smartcache.cluster.RedisClusterClient``,
  and ``other`` a second cluster (3 masters; a cluster has one database). A
  ``redis://host:port`` value instead names a cluster already running (then ``other`` uses
  it too, under its own ``KEY_PREFIX``).
- ``SMARTCACHE_TEST_DATABASE_URL`` (e.g. ``mysql://root@127.0.0.1:3306/test``): use that database
  (parsed with dj-database-url). Unset: SQLite.

Every Redis connection goes through a counting connection class (``tests/redis_counting.py``), so
tests can assert how many round trips an operation costs (``redis_commands`` fixture).
"""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.redis_counting import CountingConnection, CountingFakeRedisConnection

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "django-smartcache-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
ROOT_URLCONF = "tests.urls"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",  # for `manage.py smartcache warm --sitemap`
    "django_smartcache",
    "tests.testapp",
    # The demo shop (app label "shop"), driven over HTTP by tests/demo/.
    "example_project.shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_smartcache.middleware.LocalHitMiddleware",  # a no-op unless SMARTCACHE["LOCAL"]
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_smartcache.middleware.SmartcacheMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Fast hashing: tests create users, and the default hasher costs ~0.3 s per password.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --------------------------------------------------------------------------- database

DATABASE_URL = os.environ.get("SMARTCACHE_TEST_DATABASE_URL", "").strip()

if DATABASE_URL:
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    _redis_db = urlsplit(os.environ.get("SMARTCACHE_TEST_REDIS_URL", "")).path.strip("/")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
        DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
        DATABASES["default"]["TEST"] = {
            # One test database per Redis db number, so parallel runs on one server
            # (SMARTCACHE_TEST_REDIS_URL=.../2, .../4, ...) never share either.
            "NAME": f"test_smartcache_{_redis_db}" if _redis_db else "test_smartcache",
            "CHARSET": "utf8mb4",
            "COLLATION": "utf8mb4_unicode_ci",
        }
    else:  # PostgreSQL and others: the same per-Redis-db test database name.
        DATABASES["default"]["TEST"] = {
            "NAME": f"test_smartcache_{_redis_db}" if _redis_db else "test_smartcache",
        }
else:
    # SQLite in a *file* under the system temp dir, not ":memory:".
    #
    # The suite has tests that run code in other threads (single-flight / stampede tests) and
    # TransactionTestCase-style tests (on_commit invalidation). Every thread gets its own Django
    # connection; with a file they all open the same test database and see each other's
    # committed rows. (Django's in-memory test DB is a shared-cache "memorydb" that also spans
    # threads, but shared-cache SQLite takes table-level locks and fails fast with "database
    # table is locked" under concurrency instead of waiting.) "timeout" makes a writer wait up
    # to 20 s for another thread's write lock instead of failing with "database is locked".
    # The file name carries the pid so concurrent runs (two venvs, xdist workers) never share
    # a file; Django deletes it when the test database is destroyed.
    # Remember: inside a plain TestCase (one transaction per test) other threads cannot see
    # the test's rows at all; threaded tests need transaction=True / TransactionTestCase.
    _sqlite_dir = Path(tempfile.gettempdir())
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _sqlite_dir / "django-smartcache-tests.sqlite3",
            "OPTIONS": {"timeout": 20},
            "TEST": {"NAME": str(_sqlite_dir / f"django-smartcache-test-{os.getpid()}.sqlite3")},
        }
    }

# A second database on the same server, for tests of writes through ``using=``.
_test_name = str(DATABASES["default"]["TEST"]["NAME"])
DATABASES["other"] = {
    **DATABASES["default"],
    "TEST": {
        **DATABASES["default"]["TEST"],
        "NAME": _test_name.replace(".sqlite3", "-other.sqlite3")
        if _test_name.endswith(".sqlite3")
        else f"{_test_name}_other",
    },
}

# --------------------------------------------------------------------------- caches

REDIS_URL = os.environ.get("SMARTCACHE_TEST_REDIS_URL", "").strip()
REDIS_CLUSTER = os.environ.get("SMARTCACHE_TEST_REDIS_CLUSTER", "").strip()
if REDIS_CLUSTER.lower() in {"0", "false", "no", "off"}:
    REDIS_CLUSTER = ""

if REDIS_CLUSTER:
    from tests.redis_cluster import session_cluster_url

    REDIS_URL = REDIS_CLUSTER if "://" in REDIS_CLUSTER else session_cluster_url()

if REDIS_URL:
    _connection_class = CountingConnection
    _redis_base = REDIS_URL
else:
    if CountingFakeRedisConnection is None:  # pragma: no cover - the test extra installs it
        raise RuntimeError(
            "fakeredis is not installed: `pip install -e .[test]` (or `python3 dev.py test`), "
            "or set SMARTCACHE_TEST_REDIS_URL to a real Redis server."
        )
    _connection_class = CountingFakeRedisConnection
    # Only the address and db number matter: fakeredis keys its in-process servers by
    # host:port, and nothing is ever sent over the network.
    _redis_base = "redis://127.0.0.1:6379/15"


def _with_db(url: str, db: int) -> str:
    """``url`` pointing at database ``db`` (the path of a redis:// URL is the db number)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


_default_db = int(urlsplit(_redis_base).path.strip("/") or 0)
# The "other" alias uses the db just below the default one (15 -> 14, 3 -> 2).
_other_db = _default_db - 1 if _default_db > 0 else 1


def _redis_cache(url: str) -> dict:
    if REDIS_CLUSTER:
        other = url.endswith(f"/{_other_db}")
        if other and "://" not in REDIS_CLUSTER:
            url = session_cluster_url("other", replicas=0)
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": _with_db(url, 0),
            "KEY_PREFIX": "other" if other else "",
            "OPTIONS": {
                "CLIENT_CLASS": "django_smartcache.cluster.RedisClusterClient",
                "CONNECTION_POOL_KWARGS": {
                    "connection_class": _connection_class,
                    "max_connections": 512,
                },
            },
        }
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "CONNECTION_POOL_KWARGS": {
                "connection_class": _connection_class,
                "max_connections": 512,  # the stampede test runs 200 threads at once
            },
        },
    }


CACHES = {
    "default": _redis_cache(_redis_base),
    # A second Redis alias on another db number, for tests of SMARTCACHE["CACHE_ALIAS"].
    "other": _redis_cache(_with_db(_redis_base, _other_db)),
    # A non-Redis backend, for the "any Django cache backend still works" guarantee.
    "locmem": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "smartcache-tests",
    },
}

SMARTCACHE_TEST_BACKENDS = {
    "redis": "cluster" if REDIS_CLUSTER else "redis" if REDIS_URL else "fakeredis",
    "db": DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
}
