"""Section 5: Redis memory under churn: 10,000 cycles of invalidate + refill of the same page.

Each cycle calls ``invalidate(laptop)`` (what saving the row does: its row tag and the model tag
are bumped; the demo's write-through reloads the row) and requests the laptop's product page
in this process, which recomputes and stores it (``X-Smartcache: MISS``). Entries live under
stable keys, so nothing should accumulate.

Measured before, every 1,000 cycles, and after: the keys and the memory of the smartcache
database (``DBSIZE`` and the sum of ``MEMORY USAGE`` over its keys: exact, and not disturbed by
other users of the shared Redis) and the server's ``used_memory`` (the whole server: other
databases' users move it too).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from .common import PAGE, Run, say, spread


def _memory(redis: Any) -> dict[str, Any]:
    keys = list(redis.scan_iter(count=1000))
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    sizes = [s or 0 for s in pipe.execute()] if keys else []
    kinds = Counter()
    for key in keys:
        text = key.decode(errors="replace")
        part = text.split(":")
        kinds[":".join(part[2:4]) if len(part) > 3 else text] += 1
    info = redis.info("memory")
    return {
        "db_keys": len(keys),
        "db_key_bytes": sum(sizes),
        "server_used_memory": info.get("used_memory"),
        "keys_by_kind": dict(kinds.most_common(12)),
    }


def run(bench: Run, *, cycles: int, every: int) -> dict[str, Any]:
    from django.test import Client
    from django_redis import get_redis_connection

    from django_smartcache import invalidate
    from example_project.shop.models import Product

    redis = get_redis_connection("default")
    client = Client(HTTP_HOST="127.0.0.1")
    product = Product.objects.get(slug=PAGE.strip("/").split("/")[-1])
    for _ in range(3):
        client.get(PAGE)
    assert client.get(PAGE)["X-Smartcache"] == "HIT"

    before = _memory(redis)
    checkpoints = [{"cycle": 0, **before}]
    states: Counter[str] = Counter()
    block_ms: list[float] = []
    start = block = time.perf_counter()
    for i in range(1, cycles + 1):
        invalidate(product)
        states[client.get(PAGE).get("X-Smartcache", "-")] += 1
        if i % every == 0 or i == cycles:
            now = time.perf_counter()
            block_ms.append((now - block) * 1000 / (every if i % every == 0 else i % every))
            block = now
            checkpoints.append({"cycle": i, **_memory(redis)})
    took = time.perf_counter() - start
    after = checkpoints[-1]
    summary = {
        "cycles": cycles,
        "seconds": took,
        "responses": dict(states),
        "db_keys_before": before["db_keys"],
        "db_keys_after": after["db_keys"],
        "db_key_bytes_before": before["db_key_bytes"],
        "db_key_bytes_after": after["db_key_bytes"],
        "db_key_bytes_growth": after["db_key_bytes"] - before["db_key_bytes"],
        "server_used_memory_before": before["server_used_memory"],
        "server_used_memory_after": after["server_used_memory"],
        "server_used_memory_growth": after["server_used_memory"] - before["server_used_memory"],
        "ms_per_cycle": spread(block_ms),
    }
    say(
        f"churn: {cycles:,} cycles in {took:.1f}s ({dict(states)}); smartcache db: "
        f"{before['db_keys']} -> {after['db_keys']} keys, {before['db_key_bytes']:,} -> "
        f"{after['db_key_bytes']:,} bytes; server used_memory {before['server_used_memory']:,} "
        f"-> {after['server_used_memory']:,}"
    )
    data = {
        "config": {"cycles": cycles, "checkpoint_every": every, "page": PAGE},
        "summary": summary,
        "checkpoints": checkpoints,
    }
    bench.save("churn", data)
    return data
