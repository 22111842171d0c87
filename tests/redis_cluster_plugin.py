"""The Redis Cluster configuration of the suite (``SMARTCACHE_TEST_REDIS_CLUSTER=1``).

``tests/settings.py`` points the ``default`` and ``other`` aliases at clusters started
for the run (``tests/redis_cluster.py``); the rest of the suite runs unchanged against
them. Tests about the single-Redis store's own internals (its kept bump connections, the
round-trip counter on a standalone client) are marked ``not_on_cluster`` and are not
collected in that run (deselected, never skipped: a skip fails CI). ``test_cluster*.py``
are collected only in that run.
"""

from __future__ import annotations

import os

import pytest


def cluster_on() -> bool:
    value = os.environ.get("SMARTCACHE_TEST_REDIS_CLUSTER", "").strip().lower()
    return value not in {"", "0", "false", "no", "off"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "not_on_cluster: about the single-Redis store only; not collected on a cluster"
    )


def pytest_ignore_collect(collection_path, config):
    if collection_path.name.startswith("test_cluster") and not cluster_on():
        return True
    return None


def pytest_collection_modifyitems(config, items):
    if not cluster_on():
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("not_on_cluster") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def redis_cluster():
    """The ``LocalCluster`` the ``default`` alias uses in this run (3 masters, 1 replica
    each); ``None`` outside the cluster run or for a cluster named by URL."""
    from tests.redis_cluster import session_cluster

    return session_cluster()
