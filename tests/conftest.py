"""Test infrastructure shared by the whole suite.

Fixtures:

- ``redis_commands``: the round-trip counter (``.reset()``, ``.count``, ``.commands``), reset when
  the fixture is set up.
- ``real_redis`` / ``real_database``: the URL of a real Redis server / database, or a skip when
  the suite runs on fakeredis / SQLite.
- an autouse fixture that clears every configured cache before and after each test.

With ``SMARTCACHE_REQUIRE_SERVICES=1`` (CI) nothing may skip: a missing service fails the test,
and any other skip is turned into a failure too, so a green run means everything ran.
"""

from __future__ import annotations

import os

import pytest

from tests.redis_counting import COUNTER, RoundTripCounter

pytest_plugins = [
    "tests.helpers",
    "tests.redis_servers",
    "tests.redis_sentinel",
    "tests.redis_cluster_plugin",
]

REQUIRE_SERVICES_ENV = "SMARTCACHE_REQUIRE_SERVICES"


def _require_services() -> bool:
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _redact(url: str) -> str:
    """``url`` without its password, for printing."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


# --------------------------------------------------------------------------- header


def pytest_report_header(config):
    import django
    from django.conf import settings

    redis_url = os.environ.get("SMARTCACHE_TEST_REDIS_URL", "").strip()
    db_url = os.environ.get("SMARTCACHE_TEST_DATABASE_URL", "").strip()
    if redis_url:
        redis_desc = f"redis ({_redact(redis_url)})"
    else:
        import fakeredis

        redis_desc = f"fakeredis {fakeredis.__version__} (in-process)"
    db = settings.DATABASES["default"]
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    if db_url:
        db_desc = f"{vendor} ({_redact(db_url)}, test db {db.get('TEST', {}).get('NAME')})"
    else:
        db_desc = f"{vendor} (file {db.get('TEST', {}).get('NAME')})"
    lines = [
        f"smartcache backends: redis={redis_desc} db={db_desc}, django={django.get_version()}",
    ]
    if _require_services():
        lines.append(f"smartcache: {REQUIRE_SERVICES_ENV}=1, skips are failures")
    return lines


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session", autouse=True)
def _no_writer_lease_left(django_db_setup):
    """Give up this process's writer leases before the test databases are dropped
    (PostgreSQL refuses to drop a database a lease connection is still using)."""
    yield
    from django_smartcache.invalidation import leases

    leases.give_up()


@pytest.fixture(autouse=True)
def _clear_caches():
    """Every test starts and ends with all configured caches empty."""
    from django.conf import settings
    from django.core.cache import caches

    aliases = list(settings.CACHES)
    for alias in aliases:
        caches[alias].clear()
    yield
    for alias in aliases:
        caches[alias].clear()


@pytest.fixture
def redis_commands() -> RoundTripCounter:
    """Round trips to Redis since this fixture was set up (or since ``.reset()``).

    ``redis_commands.count`` counts requests sent to any Redis alias (one pipeline is one);
    ``redis_commands.commands`` lists the command names of each, for assertion messages.
    Connection handshakes are not counted (see ``tests/redis_counting.py``).
    """
    COUNTER.reset()
    return COUNTER


def _missing_service(message: str):
    if _require_services():
        pytest.fail(f"{message} ({REQUIRE_SERVICES_ENV}=1 forbids skipping)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def real_redis() -> str:
    """The URL of a real Redis server (SMARTCACHE_TEST_REDIS_URL, or the cluster's in the
    cluster run); skips on fakeredis."""
    url = os.environ.get("SMARTCACHE_TEST_REDIS_URL", "").strip()
    if not url:
        from django.conf import settings

        url = settings.REDIS_URL if getattr(settings, "REDIS_CLUSTER", "") else ""
    if not url:
        _missing_service("needs a real Redis: set SMARTCACHE_TEST_REDIS_URL")
    return url


@pytest.fixture
def real_database() -> str:
    """The URL of a real database server (SMARTCACHE_TEST_DATABASE_URL); skips on SQLite."""
    url = os.environ.get("SMARTCACHE_TEST_DATABASE_URL", "").strip()
    if not url:
        _missing_service("needs a real database: set SMARTCACHE_TEST_DATABASE_URL")
    return url


# --------------------------------------------------------------------------- no silent skips


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_skipped(report) -> None:
    """Turn a skipped report into a failed one (keeps xfail/xpass untouched)."""
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        report.outcome = "failed"
        report.longrepr = (
            f"skipped, but {REQUIRE_SERVICES_ENV}=1 turns every skip into a failure: {reason}"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if _require_services():
        _fail_skipped(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    # Module-level skips (pytest.importorskip, skip(allow_module_level=True)) surface here.
    outcome = yield
    if _require_services():
        _fail_skipped(outcome.get_result())
