"""Redis Cluster: the store keeps every guarantee with keys over several nodes.

Collected only in the cluster run (``SMARTCACHE_TEST_REDIS_CLUSTER=1``,
``tests/redis_cluster_plugin.py``); the rest of the suite runs against the same cluster.
The failover tests start a cluster of their own (3 masters, one replica each), since
they kill one of its masters.
"""

from __future__ import annotations

import logging
import time

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings

from django_smartcache import invalidate
from django_smartcache.cluster import RedisClusterCache
from django_smartcache.stores.base import HIT, MISS
from django_smartcache.stores.cluster_store import ClusterStore
from django_smartcache.stores.factory import get_store
from tests.helpers import status
from tests.redis_cluster import LocalCluster, key_elsewhere

pytestmark = pytest.mark.django_db(transaction=True)

TAGS = ["g", "m:testapp.product"]


def _node_of(store: ClusterStore, key: str) -> str:
    return store._cluster.get_node_from_key(key).name


def _fill(store: ClusterStore, key: str, value: object, dynamic=()) -> bool:
    found = store.read(key, TAGS, lock_token="t", want_tags=False)
    assert found.state == MISS and found.locked, found
    stamp = list(zip(TAGS, found.tokens, strict=True))
    return store.write(
        key, value, stamp=stamp, dynamic=list(dynamic), seq=found.seq, ttl=60, lock_token="t"
    )


def test_the_cluster_store_is_used_and_the_tag_keys_share_one_slot():
    store = get_store()
    assert isinstance(store, ClusterStore), f"the cluster run uses {type(store).__name__}"
    slots = {store._cluster.keyslot(k) for k in (store.seq_key, store.bumped_key, store.server_key)}
    slots.add(store._cluster.keyslot(store.tag_prefix + "m:testapp.product"))
    assert slots == {store.tag_slot}, "a bump would touch several slots (CROSSSLOT)"
    key = "page:abc"
    assert store._cluster.keyslot(store.entry_key(key)) == store._cluster.keyslot(
        store.lock_key(key)
    ), "an entry and its lock must share a slot (one CLAIM / MARK script)"


def test_an_entry_on_another_node_than_its_tags_hits_in_one_round_trip_of_wall_time(
    redis_commands,
):
    store = get_store()
    key = key_elsewhere(store)
    assert _fill(store, key, "cross-slot")
    redis_commands.reset()
    found = store.read(key, TAGS, lock_token="t", want_tags=False)
    assert (found.state, found.value) == (HIT, "cross-slot")
    assert redis_commands.count == 1, redis_commands.commands
    assert redis_commands.commands == [("GET", "|", "MGET")], (
        "the entry node and the tag node are not asked at the same time"
    )
    store.bump(["m:testapp.product"])
    assert store.read(key, TAGS, lock_token=None, want_tags=False).state != HIT, (
        "an entry on another node than the tag node survived a bump of its tag"
    )


def test_a_bump_between_the_tag_step_and_the_entry_step_leaves_an_entry_that_never_validates(
    monkeypatch,
):
    store = get_store()
    key = key_elsewhere(store)
    real_run = store._run
    steps = []

    def run(*sends):
        out = real_run(*sends)
        names = [call[0] for _, calls in sends for call in calls]
        steps.append(names)
        if names == ["STAMP"]:
            store.bump(["row"])  # a commit lands right after the tag node said "fresh"
        return out

    monkeypatch.setattr(store, "_run", run)
    assert _fill(store, key, "computed before the bump", dynamic=["row"])
    assert steps[-3:] == [["STAMP"], ["BUMP"], ["MARK"]], steps
    monkeypatch.setattr(store, "_run", real_run)
    found = store.read(key, TAGS, lock_token=None, want_tags=False)
    assert found.state != HIT, "an entry stamped before a bump was served after it"


def test_a_store_after_a_bump_of_a_run_time_tag_is_refused():
    store = get_store()
    key = key_elsewhere(store)
    found = store.read(key, TAGS, lock_token="t", want_tags=False)
    store.bump(["row"])  # the row changed while the view ran
    stamp = list(zip(TAGS, found.tokens, strict=True))
    assert not store.write(
        key, "old", stamp=stamp, dynamic=["row"], seq=found.seq, ttl=60, lock_token="t"
    ), "a fill that read the row before its change was stored"
    assert store.read(key, TAGS, lock_token=None, want_tags=False).state != HIT


def test_pages_hit_in_one_round_trip_and_are_invalidated_on_the_cluster(
    client, shop, redis_commands
):
    client.get("/catalog/")
    redis_commands.reset()
    assert status(client.get("/catalog/")) == "HIT"
    assert redis_commands.count == 1, redis_commands.commands
    shop["laptop"].name = "Laptop 2"
    shop["laptop"].save()
    response = client.get("/catalog/")
    assert status(response) == "MISS" and b"Laptop 2" in response.content


# --------------------------------------------------------------------------- configurations


def _builtin_cache(url: str) -> dict:
    return {"BACKEND": "django_smartcache.cluster.RedisClusterCache", "LOCATION": url}


def test_djangos_builtin_redis_backend_on_a_cluster_is_a_cache_and_a_store(client, shop):
    caches_setting = {**settings.CACHES, "default": _builtin_cache(settings.REDIS_URL)}
    with override_settings(CACHES=caches_setting):
        cache = caches["default"]
        assert isinstance(cache, RedisClusterCache)
        cache.set_many({f"x{i}": i for i in range(20)})  # over several slots
        assert cache.get_many([f"x{i}" for i in range(20)]) == {f"x{i}": i for i in range(20)}
        cache.set("obj", {"a": [1, 2]})
        assert cache.get("obj") == {"a": [1, 2]}
        cache.delete("obj")
        assert cache.get("obj") is None
        assert isinstance(get_store(), ClusterStore)
        client.get("/catalog/")
        assert status(client.get("/catalog/")) == "HIT"
        invalidate(type(shop["laptop"]))
        assert status(client.get("/catalog/")) == "MISS"
        cache.clear()
        assert cache.get_many([f"x{i}" for i in range(20)]) == {}, "clear() left keys behind"


def test_the_checks_accept_both_cluster_configurations():
    from django.core import checks

    for config in (
        _builtin_cache(settings.REDIS_URL),
        {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_smartcache.cluster.RedisClusterClient"},
        },
    ):
        with override_settings(CACHES={**settings.CACHES, "default": config}):
            found = [m.id for m in checks.run_checks() if m.id.startswith("smartcache.E")]
        assert found == [], f"{config['BACKEND']}: {found}"
    plain = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": settings.REDIS_URL}
    with override_settings(CACHES={**settings.CACHES, "default": plain}):
        found = [m for m in checks.run_checks() if m.id == "smartcache.E006"]
    assert found and "RedisClusterClient" in found[0].hint, "a cluster behind a plain client"


# --------------------------------------------------------------------------- failover


@pytest.fixture
def own_cluster():
    """A cluster of this test's own (3 masters, one replica each), cache ``default`` on it."""
    cluster = LocalCluster(replicas=1).start()
    config = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": cluster.url,
        "OPTIONS": {
            "CLIENT_CLASS": "django_smartcache.cluster.RedisClusterClient",
            "SOCKET_CONNECT_TIMEOUT": 0.3,
            "SOCKET_TIMEOUT": 0.3,
        },
    }
    try:
        with override_settings(CACHES={**settings.CACHES, "default": config}):
            yield cluster
    finally:
        caches["default"].client.disconnect()
        cluster.stop()


def _tag_master_port(store: ClusterStore) -> int:
    return store._cluster.get_node_from_key(store.seq_key).port


def _promoted(cluster: LocalCluster, dead: int, timeout: float = 30.0) -> None:
    """Until a replica took over the dead master's slots and the cluster is ok again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.wait_ok(timeout=1.0)
            if dead not in cluster.master_ports() and len(cluster.master_ports()) == 3:
                return
        except (RuntimeError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError("no replica took over the killed master")


def _request_until_served(client: Client, path: str, seconds: float = 20.0):
    """Requests ``path`` until the cache serves it again (not BYPASS); every response 200."""
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(path)
        assert response.status_code == 200, "the site went down with a master"
        if status(response) != "BYPASS" or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_a_failover_of_the_tag_slots_master_makes_every_entry_stale_before_the_next_hit(
    own_cluster, client, shop, caplog
):
    store = get_store()
    client.get("/catalog/")
    assert status(client.get("/catalog/")) == "HIT"
    dead = _tag_master_port(store)
    own_cluster.kill(dead)
    _promoted(own_cluster, dead)
    with caplog.at_level(logging.WARNING, logger="django_smartcache"):
        response = _request_until_served(client, "/catalog/")
    assert status(response) == "MISS", (
        "an entry was served by a promoted tag node that may have missed bumps"
    )
    assert any("new server" in r.getMessage() for r in caplog.records), caplog.text
    assert _tag_master_port(get_store()) != dead


def test_killing_a_master_keeps_the_site_up_and_loses_no_invalidation(
    own_cluster, client, shop, clean_outbox
):
    store = get_store()
    client.get("/catalog/")
    dead = _tag_master_port(store)
    own_cluster.kill(dead)
    # Committed while the tag node is down: the bump cannot land now.
    shop["laptop"].name = "Renamed during the outage"
    shop["laptop"].save()
    response = client.get("/catalog/")
    assert response.status_code == 200, "the site went down with a master"
    _promoted(own_cluster, dead)
    response = _request_until_served(client, "/catalog/")
    assert b"Renamed during the outage" in response.content, (
        "an invalidation committed while the master was down was lost after the failover"
    )


def test_bumps_wait_for_the_tag_nodes_replica_when_asked():
    """``WAIT_REPLICAS`` on a cluster: the bump and its WAIT go to the tag node together."""
    with override_settings(SMARTCACHE={"WAIT_REPLICAS": 1, "WAIT_TIMEOUT": 1.0}):
        store = get_store()
        key = key_elsewhere(store)
        assert _fill(store, key, "before")
        store.bump(["m:testapp.product"])  # raises NotReplicated if the replica did not ack
        assert store.read(key, TAGS, lock_token=None, want_tags=False).state != HIT
    with override_settings(SMARTCACHE={"WAIT_REPLICAS": 2, "WAIT_TIMEOUT": 0.05}):
        from django_smartcache.stores.redis_store import NotReplicated

        with pytest.raises(NotReplicated):
            get_store().bump(["m:testapp.product"])  # the tag node has one replica only
