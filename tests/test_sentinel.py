"""A Sentinel failover under load: no read that starts after a bump was acknowledged
shows a price older than that bump's commit (guarantees 7 and 12).

A master, one replica and three sentinels run on free local ports (``tests/redis_sentinel.py``);
the ``default`` cache reaches them through django-redis's ``SentinelClient``. A writer thread
commits a new laptop price every 100 ms (autocommit ``save()``: when it returns, the bump was
acknowledged, or it is pending and this process serves nothing from the cache); reader threads
request the page continuously. Mid-run, ``SENTINEL FAILOVER`` promotes the replica. Until the
sentinels demote the old master, clients still connected to it keep using it (a split brain):
what it acknowledged then is lost when it resyncs from the new master.

Two deployments. "one process": the writer is a thread of the readers' process, whose pending
bumps stop the readers too; a violation is a read that started after a commit's ``save()``
returned and showed an older price. "two processes": the writer is another app server
(``tests/sentinel_writer.py``), and right after the promotion the readers' process reconnects
(like a worker that starts, or grows its pool, then) and so reaches the new master while the
writer still talks to the old one; a violation is then a read that started after a commit's bump
had *landed* (nothing pending in the writer) and showed an older price. Measured per
configuration (see docs/howto/redis.md):

- ``WAIT_REPLICAS=1``: a bump counts only once the replica has it; the old master, alone after
  the promotion, cannot acknowledge, so bumps stay pending and the process bypasses the cache.
- ``min-replicas-to-write 1`` on the servers: the old master refuses writes once its replica has
  left, and so does the new master until the old one has become its replica.
- neither: the old master acknowledges bumps that the new master never gets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from functools import partial

import pytest
import redis
from django.db import connection
from django.test import Client, override_settings
from django_redis.client import SentinelClient
from redis.sentinel import SentinelConnectionPool

from django_smartcache.stores.factory import get_store
from django_smartcache.stores.redis_store import RedisStore
from tests.failover_load import ONE, READERS, TWO, URL, WRITE_EVERY, Run
from tests.helpers import status
from tests.redis_sentinel import SentinelCluster, cache_via_sentinel, sentinel_cache

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_outbox"),
    pytest.mark.not_on_cluster,  # standalone servers of their own; see test_cluster.py
]

BEFORE, AFTER = 1.0, 1.5  # seconds of load before the failover and after it completed
MIN_REPLICAS = ("--min-replicas-to-write", "1", "--min-replicas-max-lag", "1")
BASE = {"ERROR_BACKOFF": 0.1, "ERROR_BACKOFF_MAX": 0.3}
WAIT_ONE = {**BASE, "WAIT_REPLICAS": 1, "WAIT_TIMEOUT": 0.25}

CONFIGURATIONS = [
    # (deployment, SMARTCACHE, server arguments, expected: True asserts 0 violations, None
    # only prints them)
    pytest.param(ONE, WAIT_ONE, (), True, id=f"{ONE}-WAIT_REPLICAS=1"),
    pytest.param(ONE, BASE, (), None, id=f"{ONE}-neither"),
    pytest.param(TWO, WAIT_ONE, (), True, id=f"{TWO}-WAIT_REPLICAS=1"),
    pytest.param(TWO, BASE, MIN_REPLICAS, None, id=f"{TWO}-min-replicas-to-write=1"),
    pytest.param(TWO, WAIT_ONE, MIN_REPLICAS, True, id=f"{TWO}-both"),
    # Without either, reads older than a landed bump were seen in every run measured (272 to
    # 5,056 per failover), but how many depends on timing: printed, not asserted.
    pytest.param(TWO, BASE, (), None, id=f"{TWO}-neither"),
]


def _new_server_logged(records: list[logging.LogRecord], run_id: str) -> bool:
    return any("is a new server" in r.getMessage() and run_id in r.getMessage() for r in records)


@pytest.mark.parametrize(
    ("deployment", "smartcache", "sentinel_cluster", "safe"),
    CONFIGURATIONS,
    indirect=["sentinel_cluster"],
)
def test_failover_serves_no_price_older_than_an_acknowledged_bump(
    sentinel_cluster, shop, deployment, smartcache, safe, caplog, request
):
    cluster = sentinel_cluster
    new_run_id = redis.Redis(port=cluster.replica.port).info("server")["run_id"]
    writer_config = {
        "database": connection.settings_dict["NAME"],
        "cache": sentinel_cache(cluster),
        "smartcache": smartcache,
        "every": WRITE_EVERY,
    }
    with cache_via_sentinel(cluster), override_settings(SMARTCACHE=smartcache):
        store = get_store("default")
        assert isinstance(store, RedisStore), "Sentinel must get the one-round-trip store"
        assert isinstance(store._client, SentinelClient)
        pool = store._client.get_client(write=True).connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        client = Client()
        SentinelCluster.wait(lambda: status(client.get(URL)) == "HIT", "the page never cached")
        global_key = store.tag_prefix + "g"
        old_master = redis.Redis(port=cluster.master.port)
        global_before = old_master.get(global_key)
        old_master.close()

        run = Run()
        readers = [threading.Thread(target=run.reader) for _ in range(READERS)]
        with caplog.at_level(logging.WARNING, logger="django_smartcache"):
            writer = run.start_writer(deployment, writer_config)
            for thread in readers:
                thread.start()
            try:
                time.sleep(BEFORE)
                failover_started = time.monotonic()
                # Two processes: the readers' process reconnects now, like a worker that
                # starts then (idle connections only: closing one in use under another
                # thread breaks redis-py; those in use are dropped when released).
                reconnect = partial(pool.disconnect, inuse_connections=False)
                promoted, demoted = cluster.failover(reconnect if deployment == TWO else None)
                time.sleep(AFTER)
            finally:
                run.stop.set()
                for thread in [*readers, *([writer] if writer else [])]:
                    thread.join(10)
                run.stop_writer()
            final = Client().get(URL)  # after the dust settled: served from the new master
        new_master = redis.Redis(port=cluster.replica.port)
        global_after = new_master.get(global_key)
        recorded = new_master.get(store.server_key)
        new_master.close()

    assert not run.errors, run.errors
    assert cluster.sentinels[0].master_port() == cluster.replica.port
    violations = run.violations(landed_only=deployment == TWO)
    behind = run.violations(landed_only=False)  # older than a commit whose save() returned
    statuses = Counter(s for _, _, s, _ in run.reads)
    after = Counter(s for started, _, s, _ in run.reads if started >= failover_started)
    landed = sum(landed for _, _, landed in run.commits)
    print(
        f"\n[{request.node.callspec.id}] commits {len(run.commits)} ({landed} landed at once), "
        f"reads {len(run.reads)} (HIT {statuses['HIT']}, MISS {statuses['MISS']}, "
        f"BYPASS {statuses['BYPASS']}; from the failover on: HIT {after['HIT']}, "
        f"BYPASS {after['BYPASS']} of {sum(after.values())}), violations {len(violations)} "
        f"(older than a returned save(): {len(behind)}), failover: promoted after "
        f"{promoted:.2f} s, old master demoted after {demoted:.2f} s"
    )
    for started, shown, expected in violations[:3]:
        print(f"  read at +{started - failover_started:.3f} s showed {shown}, acked {expected}")
    assert all(code == 200 for _, _, _, code in run.reads), "the site must stay up"
    assert len(run.commits) > 15 and statuses["HIT"] > 0
    # Guarantee 7: the promoted replica is a new server, noticed on the first connection
    # (by whichever process connects first: the others find its run_id recorded).
    logged = _new_server_logged(caplog.records, new_run_id) or new_run_id in run.writer_log
    assert logged, "the run_id check did not fire"
    assert recorded == new_run_id.encode()
    assert global_after != global_before, "the global tag was not bumped on the new master"
    assert final.status_code == 200
    assert final.content == f"Laptop={run.commits[-1][1]}".encode()
    if safe:
        assert not violations, f"{len(violations)} reads showed a price older than an acked bump"
