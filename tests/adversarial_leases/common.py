"""Shared pieces of the hostile writer-lease tests (collected on a server database only)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from django_smartcache.invalidation import backlog, leases

_ON_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
ON_MYSQL = settings.DATABASES["default"]["ENGINE"].endswith("mysql")


def server_only(test):
    """Collected only on MySQL/MariaDB or PostgreSQL (never a skip: CI counts skips)."""
    return None if _ON_SQLITE else test


def mysql_only(test):
    return test if ON_MYSQL else None


@pytest.fixture
def leased(shop):
    assert leases.wait_until_valid("default"), "the lease thread holds a lease within 5 s"
    backlog.tidy(connection)
    return shop


def child(script: str, config: dict) -> subprocess.Popen:
    """``python -m tests.adversarial_leases.<script> '<json>'``: another app server."""
    config = {"database": connection.settings_dict["NAME"], **config}
    return subprocess.Popen(
        [sys.executable, "-m", f"tests.adversarial_leases.{script}", json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
