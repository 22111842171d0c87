"""Settings for the django-smartcache demo shop.

Everything works with nothing installed: SQLite in example_project/db.sqlite3 and an in-process
Redis (fakeredis). Point it at real services through the environment:

    DATABASE_URL=mysql://root@127.0.0.1:3306/smartcache_demo   (any URL dj-database-url reads)
    REDIS_URL=redis://127.0.0.1:6379/1
    DJANGO_DEBUG=0  DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost  DJANGO_SECRET_KEY=...
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent  # example_project/

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-smartcache-demo-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1").lower() in {"1", "true", "yes", "on"}
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_smartcache",
    "example_project.shop",
]

MIDDLEWARE = [
    # Outermost, so its Server-Timing "dur" covers the whole request (see shop/middleware.py).
    "example_project.shop.middleware.CacheBadgeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # With SMARTCACHE["LOCAL"] on: repeated cookieless requests for hot pages are answered
    # from memory before the middleware below runs (docs: howto/local-tier.md).
    "django_smartcache.middleware.LocalHitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_smartcache.middleware.SmartcacheMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.demo.urls"
WSGI_APPLICATION = "example_project.demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --------------------------------------------------------------------------- database

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --------------------------------------------------------------------------- cache

REDIS_URL = os.environ.get("REDIS_URL", "").strip()

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # Fail fast: when Redis is down, pages are served uncached instead of hanging.
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
else:
    # No Redis server needed: fakeredis runs a Redis (with Lua) inside this process. The
    # address is only a name for the in-process server; nothing is sent over the network.
    # The cache lives as long as the process (runserver's autoreload starts it empty), and
    # it is private to that process: an invalidation from another process (manage.py shell,
    # a second server) cannot reach it. Edit through the admin, or set REDIS_URL.
    from fakeredis import FakeRedisConnection

    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "OPTIONS": {"CONNECTION_POOL_KWARGS": {"connection_class": FakeRedisConnection}},
        }
    }

SMARTCACHE = {
    "CACHE_ALIAS": "default",
    "TIMEOUT": 60 * 15,
    # After a committed product change, the fresh row is written to the object cache
    # (get_cached) at once: the next page render reads it from Redis, never a cold start.
    "WRITE_THROUGH": ["shop.Product"],
}

# --------------------------------------------------------------------------- the rest

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_smartcache": {"handlers": ["console"], "level": "INFO"},
    },
}
