"""Settings of the gunicorn servers of tests/test_local_coherence.py (see ``__init__``)."""

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import CACHES, DATABASES

ROOT_URLCONF = "tests.local_server.urls"

# The database the test run created (pytest-django's test database, a file on SQLite), not
# the one the settings name.
DATABASES["default"]["NAME"] = os.environ["SMARTCACHE_COHERENCE_DB_NAME"]

# The test run's Redis, through plain connections (no round-trip counting in a server).
CACHES["default"]["OPTIONS"]["CONNECTION_POOL_KWARGS"] = {"max_connections": 64}

SMARTCACHE = json.loads(os.environ.get("SMARTCACHE_COHERENCE_SMARTCACHE") or "{}")

# Errors (a 500's traceback, smartcache's warnings) go to the server's log, which the test
# prints when something fails.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "django_smartcache": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
