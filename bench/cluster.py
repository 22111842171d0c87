"""Hit cost on Redis Cluster beside a standalone Redis: ``python -m bench.cluster``.

Starts its own servers on free local ports (a standalone ``redis-server`` and a 3-master
cluster, ``tests/redis_cluster.py``), stopped by PID at the end, and measures in process,
interleaved over rounds:

- the store's hit (``Store.read`` of a fresh entry with two tags), standalone
  ``RedisStore`` (one MGET) against ``ClusterStore`` with the entry on another node than
  the tags (a GET and an MGET sent to both nodes, then both read);
- the floors below it: a standalone MGET; redis-py's cluster pipeline of the same two
  reads; the two reads sent to both nodes' pooled connections, then read;
- round trips per hit: sends, and sends that waited on no other reply (wall time).

Writes ``bench/results/<date>-cluster-store.json`` with ``--save``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAGS = ["g", "m:shop.product"]


def _setup(standalone_url: str, cluster_url: str) -> None:
    import django
    from django.conf import settings

    from tests.redis_counting import CountingConnection

    caches = {}
    # Timed through plain connections; round trips counted through counting ones.
    for suffix, connection_class in (("", None), ("_counted", CountingConnection)):
        pool = {"connection_class": connection_class} if connection_class else {}
        caches["default" + suffix] = {
            "BACKEND": "django_redis.cache.RedisCache",
            # (django-redis shares pools by URL: another db number for another pool)
            "LOCATION": standalone_url[:-1] + ("1" if suffix else "0"),
            "OPTIONS": {"CONNECTION_POOL_KWARGS": pool},
        }
        caches["cluster" + suffix] = {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": cluster_url,
            "KEY_PREFIX": "counted" if suffix else "",
            "OPTIONS": {
                "CLIENT_CLASS": "django_smartcache.cluster.RedisClusterClient",
                "CONNECTION_POOL_KWARGS": pool,
            },
        }
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_smartcache"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES=caches,
        SMARTCACHE={"XFETCH_BETA": 0},
    )
    django.setup()


def _fill(store, key: str) -> None:
    found = store.read(key, TAGS, lock_token="t", want_tags=False)
    if found.state == "hit":
        return
    stamp = list(zip(TAGS, found.tokens, strict=True))
    payload = b"x" * 2000  # a page-sized body
    store.write(key, payload, stamp=stamp, dynamic=[], seq=found.seq, ttl=3600, lock_token="t")
    assert store.read(key, TAGS, lock_token=None, want_tags=False).state == "hit"


def _per_call_us(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def measure(rounds: int, calls: int) -> dict:
    from django_smartcache.stores.factory import get_store
    from tests.redis_counting import COUNTER

    standalone, cluster = get_store("default"), get_store("cluster")
    tag_node = cluster._cluster.get_node_from_key(cluster.seq_key)
    key = next(
        f"page:{i}"
        for i in range(1000)
        if cluster._cluster.get_node_from_key(cluster.entry_key(f"page:{i}")) != tag_node
    )
    _fill(standalone, key)
    _fill(cluster, key)
    entry_key = cluster.entry_key(key)
    tag_keys = [cluster.tag_prefix + t for t in TAGS]
    raw = standalone._client.get_client(write=True)
    rc = cluster._cluster
    entry_slot = rc.keyslot(entry_key)

    def cluster_pipeline():
        pipe = rc.pipeline()
        pipe.get(entry_key)
        for k in tag_keys:  # the tag keys share a slot: redis-py groups them per node
            pipe.get(k)
        pipe.execute()

    def hit(store):
        return lambda: store.read(key, TAGS, lock_token=None, want_tags=False)

    variants = {
        "standalone_store_hit": hit(standalone),
        "cluster_store_hit": hit(cluster),
        "standalone_mget": lambda: raw.mget([standalone.entry_key(key), *tag_keys]),
        "cluster_redis_py_pipeline_2_nodes": cluster_pipeline,
        "cluster_direct_send_both_then_read": lambda: cluster._exchange(
            (entry_slot, [("GET", entry_key)]), (cluster.tag_slot, [("MGET", *tag_keys)])
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        _per_call_us(fn, 200)  # warm: connections, scripts
    for _ in range(rounds):
        for name, fn in variants.items():
            samples[name].append(_per_call_us(fn, calls))
    trips = {}
    for name, alias in (("standalone_store_hit", "default"), ("cluster_store_hit", "cluster")):
        counted = get_store(alias + "_counted")
        _fill(counted, key)
        hit(counted)()  # connections made
        COUNTER.reset()
        hit(counted)()
        sends = sum(1 for names in COUNTER.commands for n in names if n != "|")
        trips[name] = {"wall": COUNTER.count, "sends": sends, "commands": list(COUNTER.commands)}
    return {
        "median_us": {name: round(statistics.median(v), 1) for name, v in samples.items()},
        "min_us": {name: round(min(v), 1) for name, v in samples.items()},
        "round_trips": trips,
        "rounds": rounds,
        "calls_per_round": calls,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument(
        "--save", action="store_true", help="write bench/results/<date>-cluster-store.json"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import shutil

    from tests.redis_cluster import LocalCluster
    from tests.redis_processes import RedisServer

    server = RedisServer(shutil.which("redis-server"), tempfile.mkdtemp(prefix="sc-bench-"))
    server.start()
    cluster = LocalCluster()
    try:
        cluster.start()
        _setup(server.url, cluster.url)
        result = measure(args.rounds, args.calls)
    finally:
        cluster.stop()
        server.kill()
    print(json.dumps(result, indent=2))
    if args.save:
        out = ROOT / "bench" / "results" / f"{dt.date.today().isoformat()}-cluster-store.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
