"""Redis servers the tests start themselves (``tests/redis_processes.py``), as fixtures.

The ``redis_server`` fixture gives each test its own ``RedisServer``. ``cache_at`` points
the ``default`` cache alias at one, with fail-fast timeouts.
"""

from __future__ import annotations

import shutil

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from tests.conftest import _missing_service
from tests.redis_processes import RedisServer, _free_port, wait_until_up

__all__ = ["RedisServer", "_free_port", "cache_at", "redis_server", "wait_until_up"]

SOCKET_TIMEOUT = 0.2


@pytest.fixture
def redis_server(real_redis, tmp_path):
    """A private ``redis-server``, killed at teardown whatever happened."""
    executable = shutil.which("redis-server")
    if executable is None:
        _missing_service("needs the redis-server executable on PATH")
    server = RedisServer(executable, str(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.kill()


def cache_at(url: str) -> override_settings:
    """``default`` on ``url`` with fail-fast timeouts; the other aliases unchanged."""
    default = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": SOCKET_TIMEOUT,
            "CONNECTION_POOL_KWARGS": {"connection_class": redis.Connection},
        },
    }
    return override_settings(CACHES={**settings.CACHES, "default": default})
