"""Section 2: Redis round trips per hit and per miss, smartcache and Django's ``cache_page``.

Counted two ways, in this process, through the full middleware stack (Django's test client):

- client side: every ``send_packed_command`` of redis-py is one round trip (a pipeline is one),
  per Redis database: 9 holds smartcache's entries (and the view's own object cache), 10 holds
  Django's ``cache_page`` entries;
- server side: Redis ``MONITOR`` on those two databases, which also lists the commands a Lua
  script runs inside its single round trip;
- Redis CPU time per hit: ``INFO commandstats`` on a private Redis (``bench/servertime.py``).

The product view itself reads a few values through smartcache's object cache (``get_cached``,
the related-products fragment) when it runs. Those round trips belong to the view, not to the
page cache: they are measured on the uncached variant and reported apart ("view's own").
The library's statistics flush (one pipeline per process every 5 s) is left out and counted apart.
"""

from __future__ import annotations

import time
from typing import Any

from . import servertime
from .common import VARIANTS, Monitor, RoundTrips, Run, env_setting, redis_db, say, spread

STATS_FLUSH = {"HINCRBY"}


def _per_request(counter: RoundTrips, client: Any, path: str) -> tuple[dict[str, Any], Any]:
    with counter.count() as box:
        response = client.get(path)
    trips = [(db, names) for db, names in box["trips"] if not set(names) <= STATS_FLUSH]
    flushes = len(box["trips"]) - len(trips)
    by_db: dict[int, int] = {}
    for db, _names in trips:
        by_db[db] = by_db.get(db, 0) + 1
    return {
        "status": response.status_code,
        "header": response.get("X-Smartcache"),
        "round_trips": len(trips),
        "by_db": by_db,
        "commands": ["+".join(names) for _db, names in trips],
        "stats_flushes_left_out": flushes,
    }, response


def run(bench: Run, counter: RoundTrips, *, repeats: int, python: str) -> dict[str, Any]:
    from django.test import Client

    smart_db = redis_db(env_setting("BENCH_REDIS_URL"))
    django_db = redis_db(env_setting("BENCH_DJANGO_REDIS_URL"))
    client = Client(HTTP_HOST="127.0.0.1")
    counter.install()
    tag = f"{time.time_ns()}"
    page = VARIANTS["smartcache"][1]

    # Warm the view's own caches (object cache, fragment) and the connections.
    for _ in range(3):
        client.get(VARIANTS["uncached"][1])

    rows: dict[str, list[dict[str, Any]]] = {
        "view_own": [],
        "smartcache_miss": [],
        "smartcache_hit": [],
        "django_miss": [],
        "django_hit": [],
    }
    for i in range(repeats):
        rows["view_own"].append(_per_request(counter, client, VARIANTS["uncached"][1])[0])
        # A query string of its own makes a cold key for both caches.
        fresh = f"?rt={tag}-{i}"
        miss, _ = _per_request(counter, client, page + fresh)
        hit, _ = _per_request(counter, client, page + fresh)
        rows["smartcache_miss"].append(miss)
        rows["smartcache_hit"].append(hit)
        miss, _ = _per_request(counter, client, VARIANTS["django"][1] + fresh)
        hit, _ = _per_request(counter, client, VARIANTS["django"][1] + fresh)
        rows["django_miss"].append(miss)
        rows["django_hit"].append(hit)

    def med(key: str, field: str = "round_trips", db: int | None = None) -> float:
        values = [(r["by_db"].get(db, 0) if db is not None else r[field]) for r in rows[key]]
        return spread(values)["median"]

    view_own = med("view_own")
    summary = {
        "view_own_round_trips": view_own,
        "smartcache": {
            "hit": med("smartcache_hit"),
            "miss_total": med("smartcache_miss"),
            "miss_page_cache": med("smartcache_miss") - view_own,
            "hit_commands": rows["smartcache_hit"][0]["commands"],
            "miss_commands": rows["smartcache_miss"][0]["commands"],
            "headers": sorted({r["header"] for r in rows["smartcache_hit"]}),
            "miss_headers": sorted({r["header"] for r in rows["smartcache_miss"]}),
        },
        "django": {
            # Django's entries live in their own database: its page cache's trips exactly.
            "hit": med("django_hit", db=django_db),
            "miss_page_cache": med("django_miss", db=django_db),
            "miss_total": med("django_miss"),
            "hit_commands": [c for r in rows["django_hit"][:1] for c in r["commands"]],
            "miss_commands": [c for r in rows["django_miss"][:1] for c in r["commands"]],
        },
    }

    # Server side: commands Redis ran per hit, including those inside the Lua script.
    monitored: dict[str, Any] = {}
    url = env_setting("BENCH_REDIS_URL")
    n = 10
    for name, path in (("smartcache_hit", page), ("django_hit", VARIANTS["django"][1])):
        client.get(path)  # make sure it is a hit
        with Monitor(url, {smart_db, django_db}) as monitor:
            for _ in range(n):
                client.get(path)
        stats = monitor.summary()
        monitored[name] = {
            "requests": n,
            "client_commands_per_request": stats["client_commands"] / n,
            "script_inner_commands_per_request": stats["script_inner_commands"] / n,
            "client_command_names": stats["client_command_names"],
            "script_inner_command_names": stats["script_inner_command_names"],
        }
    summary["server_side"] = monitored
    # Redis CPU per hit, on a private server (the shared one's statistics cannot be attributed).
    summary["redis_cpu_per_hit"] = servertime.measure(python)
    say(
        f"round trips: smartcache hit {summary['smartcache']['hit']}, miss "
        f"{summary['smartcache']['miss_page_cache']} (+{view_own} the view's own); Django "
        f"cache_page hit {summary['django']['hit']}, miss {summary['django']['miss_page_cache']}"
    )
    data = {
        "config": {
            "repeats": repeats,
            "smartcache_db": smart_db,
            "django_db": django_db,
            "how": "client side: redis-py send_packed_command calls; server side: MONITOR",
        },
        "summary": summary,
        "samples": rows,
    }
    bench.save("roundtrips", data)
    return data
