"""Section 4: the cost of one ``invalidate(Product)`` with 1,000 / 10,000 / 100,000 entries.

Entries are written in this process through the library's engine (``lookup`` + ``Fill.save``:
the store's own write script and encoding, the entry ``cached(depends_on=[Product])`` writes),
not through HTTP. To make 100,000 writes take seconds, the store's script calls are queued on a
Redis pipeline, 2,000 at a time (``pipelined``); if the store's internals do not allow that, the
entries are written one call each on a few threads. Before each timed invalidation a sample of
entries is checked to be served as hits; after it, to be misses. The Redis commands one
invalidation runs are taken from MONITOR (including those inside its script).

For contrast, the same sizes with what Django's cache offers instead of dependencies: deleting
the keys by pattern (django-redis ``delete_pattern``, a SCAN over the keyspace), on the
``django`` alias.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from .common import Monitor, RoundTrips, Run, env_setting, redis_db, say, spread

PREFIX = "bench:inv:"
VALUE = {"rows": list(range(20)), "title": "x" * 100}  # a small cached result


def _fill(store: Any, fill: Any, n: int, timeout: float) -> tuple[float, str]:
    try:
        return _fill_pipelined(store, fill, n, timeout), "pipelined"
    except _NoPipeline:
        return _fill_threads(fill, n, timeout), "threads"


class _NoPipeline(Exception):
    pass


def _fill_pipelined(store: Any, fill: Any, n: int, timeout: float, batch: int = 2000) -> float:
    """``Fill.save`` for every entry, with the store's script calls sent on a pipeline."""
    script_of = getattr(store, "_script", None)
    client = getattr(store, "_client", None)
    if script_of is None or client is None:
        raise _NoPipeline
    pipe = client.get_client(write=True).pipeline(transaction=False)

    def queued(name: str):
        script = script_of(name)
        return lambda keys, args: script(keys=keys, args=args, client=pipe)

    start = time.perf_counter()
    store._script = queued  # this instance, this process, for the duration of the fill
    try:
        for i in range(n):
            fill.save(f"{PREFIX}{i}", VALUE, timeout)
            if i % batch == batch - 1:
                pipe.execute()
        pipe.execute()
    finally:
        del store._script
    return time.perf_counter() - start


def _fill_threads(fill: Any, n: int, timeout: float, threads: int = 4) -> float:
    start = time.perf_counter()
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(offset, n, threads):
                fill.save(f"{PREFIX}{i}", VALUE, timeout)
        except BaseException as exc:  # reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def _served(store: Any, tags: list[str], keys: list[str]) -> int:
    """How many of ``keys`` are served as hits (locks taken on misses are released)."""
    from django_smartcache.core.engine import lookup
    from django_smartcache.stores.base import HIT

    hits = 0
    for key in keys:
        found, fill = lookup(store, key, tags, wait=False)
        if found.state == HIT:
            hits += 1
        if fill is not None:
            fill.release()
    return hits


def run(
    bench: Run, counter: RoundTrips, *, sizes: list[int], repeats: int, contrast: bool
) -> dict[str, Any]:
    from django.core.cache import caches
    from django_redis import get_redis_connection

    from django_smartcache import invalidate
    from django_smartcache.core.engine import lookup
    from django_smartcache.core.tags import GLOBAL, read_tags
    from django_smartcache.stores.factory import get_store
    from example_project.shop.models import Product

    counter.install()
    store = get_store()
    tags = sorted({GLOBAL, *read_tags([Product])})
    smart_db = redis_db(env_setting("BENCH_REDIS_URL"))
    redis = get_redis_connection("default")
    rows: list[dict[str, Any]] = []
    timeout = 900.0
    for size in sizes:
        for rep in range(repeats):
            found, fill = lookup(store, f"{PREFIX}template", tags, wait=False)
            assert fill is not None, found
            fill.release()
            fill_s, how = _fill(store, fill, size, timeout)
            sample = [f"{PREFIX}{i}" for i in random.sample(range(size), min(20, size))]
            before = _served(store, tags, sample)
            with counter.count() as box:
                start = time.perf_counter()
                invalidate(Product)
                took_ms = (time.perf_counter() - start) * 1000
            after = _served(store, tags, sample)
            rows.append(
                {
                    "entries": size,
                    "repeat": rep + 1,
                    "invalidate_ms": took_ms,
                    "round_trips": len(box["trips"]),
                    "commands_sent": box["names"],
                    "fill_seconds": fill_s,
                    "fill_how": how,
                    "fill_per_entry_us": fill_s / size * 1e6,
                    "sample_hits_before": before,
                    "sample_hits_after": after,
                    "sample_size": len(sample),
                    "db_keys": redis.dbsize(),
                }
            )
            say(
                f"invalidation: {size:>7,} entries: invalidate(Product) {took_ms:.2f} ms, "
                f"{len(box['trips'])} round trip(s); sample served {before}/{len(sample)} "
                f"before, {after}/{len(sample)} after (filled in {fill_s:.1f}s)"
            )
        # What one invalidation runs inside Redis (entries still there, now stale).
        with Monitor(env_setting("BENCH_REDIS_URL"), {smart_db}) as monitor:
            invalidate(Product)
        rows[-1]["server_side"] = monitor.summary()
    # Clean up the entries (stable keys: at most max(sizes) of them).
    batch: list[bytes] = []
    for key in redis.scan_iter(match=f"*{PREFIX}*", count=10_000):
        batch.append(key)
        if len(batch) >= 5000:
            redis.unlink(*batch)
            batch = []
    if batch:
        redis.unlink(*batch)

    by_size = {}
    for size in sizes:
        mine = [r for r in rows if r["entries"] == size]
        by_size[str(size)] = {
            "invalidate_ms": spread([r["invalidate_ms"] for r in mine]),
            "round_trips": spread([r["round_trips"] for r in mine]),
            "server_commands": next(
                (r["server_side"] for r in reversed(mine) if "server_side" in r), None
            ),
            "all_sample_hits_before": all(
                r["sample_hits_before"] == r["sample_size"] for r in mine
            ),
            "no_sample_hits_after": all(r["sample_hits_after"] == 0 for r in mine),
        }
    contrast_rows = _delete_pattern(caches["django"], sizes) if contrast else []
    data = {
        "config": {
            "sizes": sizes,
            "repeats": repeats,
            "entry_tags": tags,
            "fill": "engine lookup() + Fill.save() per entry (store script calls pipelined)",
        },
        "summary": by_size,
        "samples": rows,
        "contrast_delete_pattern": contrast_rows,
    }
    bench.save("invalidation", data)
    return data


def _delete_pattern(cache: Any, sizes: list[int]) -> list[dict[str, Any]]:
    """Django's cache without dependencies: delete the model's keys by pattern (SCAN + DEL)."""
    out = []
    for size in sizes:
        keys = {f"bench:dp:{i}": VALUE for i in range(size)}
        items = list(keys.items())
        for start in range(0, size, 5000):
            cache.set_many(dict(items[start : start + 5000]), 900)
        start = time.perf_counter()
        deleted = cache.delete_pattern("bench:dp:*")
        took_ms = (time.perf_counter() - start) * 1000
        out.append({"entries": size, "delete_pattern_ms": took_ms, "deleted": deleted})
        say(f"  contrast: django-redis delete_pattern over {size:>7,} keys: {took_ms:.1f} ms")
    return out
