"""Section ``cluster``: the product page's hit on Redis Cluster beside a standalone Redis.

In the same run, under the same load generator:

- two gunicorns (2 sync workers each, the throughput section's setup) serve the shop: one
  with smartcache's alias on the bench's standalone Redis (``BENCH_REDIS_URL``), one with it
  on a local 3-master Redis Cluster (``tests/redis_cluster.py``: started on free local ports
  in a temporary directory, stopped by PID at the end) through
  ``django_smartcache.cluster.RedisClusterClient``;
- wrk loads, in interleaved rounds, the smartcache HIT of the product page and the constant
  view on each server (the constant view touches no cache: it is each server's ceiling);
- then ``python -m bench.cluster`` (a subprocess: it configures Django itself) measures the
  store's hit in process on a standalone Redis and the cluster, with its round trips.

The cluster gunicorn is started only while the section runs; the standalone one too, so the
throughput section's server is not shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from typing import Any

from .common import PORTS, ROOT, VARIANTS, Run, Server, get, ratio, run_wrk, say, spread
from .throughput import warm

SERVERS = ("standalone", "cluster")
PATHS = {"hit": VARIANTS["smartcache"][1], "constant": VARIANTS["constant"][1]}


def _servers(env: dict[str, str], cluster_url: str) -> dict[str, Server]:
    args = ["--workers", "2", "--worker-class", "sync"]
    return {
        "standalone": Server(PORTS["cluster_standalone"], args, env, "cluster-standalone"),
        "cluster": Server(
            PORTS["cluster"], args, {**env, "BENCH_REDIS_CLUSTER_URL": cluster_url}, "cluster"
        ),
    }


def _in_process(python: str) -> dict[str, Any]:
    """``bench.cluster``'s in-process hit cost and round trips (its own servers)."""
    out = subprocess.run(
        [python, "-m", "bench.cluster", "--rounds", "5", "--calls", "2000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench.cluster failed: {out.stderr[-1500:]}")
    return json.loads(out.stdout[out.stdout.index("{") : out.stdout.rindex("}") + 1])


def run(
    bench: Run,
    python: str,
    env: dict[str, str],
    *,
    rounds: int,
    seconds: float,
    connections: int,
    warm_seconds: float,
) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.redis_cluster import LocalCluster

    cluster = LocalCluster()
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    checks: dict[str, Any] = {}
    nodes: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    try:
        cluster.start()
        servers = _servers(env, cluster.url)
        try:
            for name, server in servers.items():
                server.start(python)
                say(f"cluster: gunicorn ({name} Redis) on 127.0.0.1:{server.port}")
            for name, server in servers.items():
                found = warm(
                    server.port, warm_seconds, connections, list(PATHS.values()), PATHS["hit"]
                )
                checks[f"{name}_header_after_warmup"] = found["smartcache_header_after_warmup"]
            for r in range(rounds):
                line = []
                for name, server in servers.items():
                    for what, path in PATHS.items():
                        load = name == "cluster" and what == "hit"
                        before = _node_load(cluster) if load else {}
                        result = run_wrk(
                            server.port, path, seconds=seconds, connections=connections
                        )
                        if load:
                            _add_load(nodes, before, _node_load(cluster), result)
                        result["round"] = r + 1
                        samples[f"{name}|{what}"].append(result)
                        line.append(f"{name} {what} {result['rps']:.0f}")
                say(f"  round {r + 1}/{rounds}: " + ", ".join(line) + " req/s")
            tag_node = _tag_node(cluster)
            for name, server in servers.items():
                _status, headers, _body = get(server.port, PATHS["hit"])
                checks[f"{name}_header_after_load"] = headers.get("X-Smartcache")
        finally:
            for server in servers.values():
                server.stop()
    finally:
        cluster.stop()
    summary = _summarize(samples)
    in_process = _in_process(python)
    data = {
        "config": {
            "servers": "gunicorn --workers 2 --worker-class sync, one per store",
            "cluster": "3 masters, no replicas, local (tests/redis_cluster.py)",
            "wrk": f"-t1 -c{connections} -d{seconds}s",
            "rounds": rounds,
            "paths": PATHS,
        },
        "checks": checks,
        "summary": summary,
        "in_process": in_process,
        "masters_under_cluster_hits": _node_summary(nodes, tag_node),
        "samples": dict(samples),
    }
    bench.save("cluster", data)
    hit = summary["cluster_vs_standalone_hit_rps"]
    say(f"cluster: hit throughput {hit['median']:.2f}x standalone (paired per round)")
    return data


def _node_load(cluster: Any) -> dict[int, tuple[float, int]]:
    """Per master: (CPU seconds used, commands processed) so far."""
    found = {}
    for port in cluster.master_ports():
        with cluster.client(port) as node:
            info = node.info()
        found[port] = (
            float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
            int(info["total_commands_processed"]),
        )
    return found


def _add_load(nodes: dict, before: dict, after: dict, result: dict[str, Any]) -> None:
    for port, (cpu, calls) in after.items():
        if port in before:
            nodes[port]["cpu_s"] += cpu - before[port][0]
            nodes[port]["commands"] += calls - before[port][1]
            nodes[port]["wall_s"] += result["duration_us"] / 1e6
            nodes[port]["hits"] += result["requests"]


def _tag_node(cluster: Any) -> int | None:
    """The master holding the tag slot (``{<SMARTCACHE KEY_PREFIX>}``)."""
    from redis.crc import key_slot

    from django_smartcache.conf import get_settings
    from django_smartcache.stores.cluster_store import _escape

    slot = key_slot(("{" + _escape(get_settings().KEY_PREFIX) + "}").encode())
    with cluster.client(cluster.master_ports()[0]) as node:
        for start, end, master, *_replicas in node.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return int(master[1])
    return None


def _node_summary(nodes: dict, tag_node: int | None) -> list[dict[str, Any]]:
    """Each master's share of the cluster hits' load: the tag node (every hit reads its
    tokens there) first, then the others (entries, spread by key)."""
    rows = [
        {
            "port": port,
            "role": "tag node" if port == tag_node else "entries",
            "cpu_pct": round(100 * n["cpu_s"] / n["wall_s"], 1) if n["wall_s"] else 0.0,
            "commands_per_hit": round(n["commands"] / n["hits"], 2) if n["hits"] else 0.0,
            "hits_per_s": round(n["hits"] / n["wall_s"]) if n["wall_s"] else 0,
        }
        for port, n in nodes.items()
    ]
    return sorted(rows, key=lambda row: (row["role"] != "tag node", -row["cpu_pct"]))


def _summarize(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        key: {
            "rps": spread([r["rps"] for r in runs]),
            "p50_ms": spread([r["p50_us"] / 1000 for r in runs]),
            "errors": sum(sum(r["errors"].values()) for r in runs),
        }
        for key, runs in samples.items()
    }
    for name in SERVERS:
        hits, ceiling = samples[f"{name}|hit"], samples[f"{name}|constant"]
        out[f"{name}|hit"]["vs_ceiling"] = ratio(
            out[f"{name}|hit"]["rps"]["median"], out[f"{name}|constant"]["rps"]["median"]
        )
        out[f"{name}|hit"]["vs_ceiling_per_round"] = spread(
            [a["rps"] / b["rps"] for a, b in zip(hits, ceiling, strict=True)]
        )
    out["cluster_vs_standalone_hit_rps"] = spread(
        [
            a["rps"] / b["rps"]
            for a, b in zip(samples["cluster|hit"], samples["standalone|hit"], strict=True)
        ]
    )
    return out


def report_lines(data: dict[str, Any]) -> list[str]:
    """Rows of the Benchmarks page's "Other measurements" table."""
    s, p = data["summary"], data["in_process"]
    hit, base = s["cluster|hit"], s["standalone|hit"]
    us, trips = p["median_us"], p["round_trips"]
    ratio_ = s["cluster_vs_standalone_hit_rps"]
    return [
        "| Redis Cluster (3 local masters): product page HIT under wrk, another gunicorn in the "
        "same run | "
        f"{hit['rps']['median']:,.0f} req/s, {ratio_['median']:.2f}x standalone per round "
        f"({hit['vs_ceiling_per_round']['median']:.2f}x its ceiling) | "
        f"standalone {base['rps']['median']:,.0f} req/s "
        f"({base['vs_ceiling_per_round']['median']:.2f}x its ceiling) |",
        "| Redis Cluster under those hits: each master's CPU | "
        + ", ".join(
            f"{m.get('role', 'master')} {m['cpu_pct']:.0f} % ({m['commands_per_hit']:.2f} "
            "commands per hit)"
            for m in data.get("masters_under_cluster_hits", [])
        )
        + f" at {hit['rps']['median']:,.0f} hits/s | - |",
        "| Redis Cluster: store hit in process (entry on another node than the tags) | "
        f"{us['cluster_store_hit']:.0f} µs, {trips['cluster_store_hit']['wall']} round trip "
        f"of wall time | standalone {us['standalone_store_hit']:.0f} µs; redis-py's cluster "
        f"pipeline of the same reads {us['cluster_redis_py_pipeline_2_nodes']:.0f} µs |",
    ]


def target(data: dict[str, Any]) -> tuple[str, str, Any, bool]:
    """(target, goal, measured, met) for the summary: a hit is one round trip of wall time."""
    wall = data["in_process"]["round_trips"]["cluster_store_hit"]["wall"]
    return ("round trips per hit, Redis Cluster (wall time)", "1", wall, wall == 1)
