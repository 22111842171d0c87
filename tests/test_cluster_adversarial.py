"""Redis Cluster under a hostile operator: nodes rolled back, prefixes with hash tags.

Each test starts a local cluster of its own (``tests/redis_cluster.py``, 3 masters), so
the file runs in every run where ``redis-server`` is installed, cluster run or not.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from django_smartcache.stores.base import HIT, MISS
from django_smartcache.stores.cluster_store import ClusterStore
from django_smartcache.stores.factory import get_store
from tests.redis_cluster import LocalCluster, key_elsewhere

pytestmark = pytest.mark.django_db(transaction=True)

TAGS = ["g", "m:testapp.product"]


def _config(cluster: LocalCluster, **extra) -> dict:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": cluster.url,
        "OPTIONS": {
            "CLIENT_CLASS": "django_smartcache.cluster.RedisClusterClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
        **extra,
    }


def _own(replicas: int):
    """A cluster of this test's own (3 masters, ``replicas`` each), cache ``default`` on it."""
    found = LocalCluster(replicas=replicas).start()
    try:
        with override_settings(CACHES={**settings.CACHES, "default": _config(found)}):
            yield found
            caches["default"].client.disconnect()
    finally:
        found.stop()


@pytest.fixture
def cluster():
    """3 masters, no replica, cache ``default`` on them."""
    yield from _own(0)


def _port_of(store: ClusterStore, key: str) -> int:
    return store._cluster.get_node_from_key(key).port


def _fill(store: ClusterStore, key: str, value: object, tags=TAGS, dynamic=()) -> bool:
    found = store.read(key, tags, lock_token="t", want_tags=False)
    assert found.state == MISS and found.locked, found
    stamp = list(zip(tags, found.tokens, strict=True))
    return store.write(
        key, value, stamp=stamp, dynamic=list(dynamic), seq=found.seq, ttl=60, lock_token="t"
    )


def _read(store: ClusterStore, key: str, tags=TAGS, seconds: float = 15.0):
    """The store's read of ``key`` once the cluster answers again."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return store.read(key, tags, lock_token=None, want_tags=False)
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# --------------------------------------------------------------------------- rollbacks


def test_an_entry_node_restarted_from_an_older_snapshot_does_not_bring_back_a_deleted_entry(
    cluster,
):
    """``fn.invalidate(*args)`` deletes one entry; the entry's node then restarts from a
    snapshot taken before the delete. The delete was acknowledged: the entry must not be
    served again."""
    store = get_store()
    key = key_elsewhere(store)
    assert _fill(store, key, "deleted later")
    assert _read(store, key).state == HIT
    port = _port_of(store, store.entry_key(key))
    with cluster.client(port) as node:
        node.save()  # the snapshot the node will come back from
    store.delete(key)  # acknowledged
    assert _read(store, key).state != HIT
    cluster.restart(port)
    found = _read(store, key)
    assert found.state != HIT, "a deleted entry came back with its node's older snapshot"


def test_a_node_taken_for_the_tag_node_by_a_stale_slot_map_still_has_its_identity_checked(
    cluster, monkeypatch
):
    """The slot map says the tag slot is on the entry's node (it moved away since; MOVED
    answers the tag check there). The node restarted from an older snapshot must not be
    taken as checked."""
    store = get_store()
    key = key_elsewhere(store)
    assert _fill(store, key, "deleted later")
    port = _port_of(store, store.entry_key(key))
    with cluster.client(port) as node:
        node.save()
    store.delete(key)
    cluster.restart(port)
    manager = store._cluster.nodes_manager
    entry_node = manager.get_node_from_slot(store._cluster.keyslot(store.entry_key(key)))
    real = manager.get_node_from_slot

    def stale(slot, *args, **kwargs):
        return entry_node if slot == store.tag_slot else real(slot, *args, **kwargs)

    monkeypatch.setattr(manager, "get_node_from_slot", stale)
    monkeypatch.setattr(store._nodes, "refresh", lambda: None)
    with pytest.raises(redis.RedisError):  # the held connection died with the node
        store.read(key, TAGS, lock_token=None, want_tags=False)
    with pytest.raises(redis.RedisError):  # the stale map: MOVED
        store.read(key, TAGS, lock_token=None, want_tags=False)
    monkeypatch.setattr(manager, "get_node_from_slot", real)
    found = _read(store, key)
    assert found.state != HIT, "a connection whose tag check met MOVED was never checked"


@pytest.fixture
def replicated():
    """3 masters with one replica each, cache ``default`` on them."""
    yield from _own(1)


def _promoted(cluster: LocalCluster, dead: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.wait_ok(timeout=1.0)
            if dead not in cluster.master_ports() and len(cluster.master_ports()) == 3:
                return
        except (RuntimeError, OSError, redis.RedisError):
            pass
        time.sleep(0.1)
    raise AssertionError("no replica took over the killed master")


def test_an_entry_nodes_replica_promoted_without_a_delete_does_not_serve_the_entry(replicated):
    """The entry's master acknowledges a delete that its replica never gets (the link was
    cut), then dies; the replica takes over with the entry still in it."""
    store = get_store()
    key = key_elsewhere(store)
    assert _fill(store, key, "deleted before the failover")
    master = _port_of(store, store.entry_key(key))
    replica = replicated.replica_of(master)
    with replicated.client(master) as node:
        assert node.execute_command("WAIT", 1, 5000) == 1  # the replica has the entry
    pid = replicated.processes[replica].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        with replicated.client(master) as node:
            node.execute_command("CLIENT", "KILL", "TYPE", "replica")
        store.delete(key)  # acknowledged by the master alone
        replicated.kill(master)
    finally:
        os.kill(pid, signal.SIGCONT)
    _promoted(replicated, master)
    found = _read(store, key, seconds=30)
    assert found.state != HIT, "a deleted entry came back with a promoted replica"


# --------------------------------------------------------------------------- hash tags in prefixes


@pytest.mark.parametrize(
    ("cache_prefix", "smartcache_prefix"),
    [("", "a{b"), ("", "a}b"), ("", "{x}"), ("", "%7Bx"), ("{tenant}", "sc"), ("t}", "s{c")],
)
def test_prefixes_with_braces_keep_bumps_and_hits_working(cluster, cache_prefix, smartcache_prefix):
    config = _config(cluster, KEY_PREFIX=cache_prefix)
    with override_settings(
        CACHES={**settings.CACHES, "default": config},
        SMARTCACHE={"KEY_PREFIX": smartcache_prefix},
    ):
        store = get_store()
        keys = [store.seq_key, store.bumped_key, store.server_key, store.nodes_key]
        keys += [store.tag_prefix + t for t in (*TAGS, "row:1")]
        slots = {store._cluster.keyslot(k) for k in keys}
        assert slots == {store.tag_slot}, f"tag keys over {len(slots)} slots: {keys}"
        assert _fill(store, "k1", "v", dynamic=["row:1"])
        assert _read(store, "k1").state == HIT
        store.bump(["m:testapp.product"])
        assert _read(store, "k1").state != HIT
        caches["default"].client.disconnect()


def test_a_cache_prefix_with_an_open_brace_is_refused_by_name(cluster):
    """``KEY_PREFIX = "p{q"`` on the cache: every key's hash tag would start in the cache's
    prefix and end in ours, a slot per key. Said at start-up, not a silent bypass."""
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured

    config = _config(cluster, KEY_PREFIX="p{q")
    with override_settings(CACHES={**settings.CACHES, "default": config}):
        with pytest.raises(ImproperlyConfigured, match="KEY_PREFIX"):
            get_store()
        found = [m for m in checks.run_checks() if m.id == "smartcache.E008"]
        assert found and "KEY_PREFIX" in found[0].msg, found
        caches["default"].client.disconnect()


# --------------------------------------------------------------------------- held (kept as guards)


def test_flushall_on_the_tag_node_only_leaves_no_entry_elsewhere_valid(cluster):
    store = get_store()
    key = key_elsewhere(store)
    assert _fill(store, key, "v")
    with cluster.client(_port_of(store, store.seq_key)) as node:
        node.flushall()
    assert _read(store, key).state != HIT, "an entry outlived the tokens it was stamped with"


def test_a_key_that_hashes_to_the_tag_slot_is_invalidated_like_any_other(cluster):
    store = get_store()
    key = "x{sc}"  # the entry shares the tag slot (and node) with the tokens
    assert store._cluster.keyslot(store.entry_key(key)) == store.tag_slot
    assert _fill(store, key, "v", dynamic=["row:9"])
    assert _read(store, key).state == HIT
    store.bump(["row:9"])
    assert _read(store, key).state != HIT
