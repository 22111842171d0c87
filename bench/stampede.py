"""Section 3: a stampede. 200 concurrent requests for one cold key: how often does the view run?

A threaded gunicorn (2 gthread workers x 100 threads: 200 requests really in flight at once)
serves two bench-only views that return the product page's bytes after 0.1 s (a slow query),
one under smartcache's ``cache_page`` and one under Django's. Each counts its runs with a Redis
``INCR``. The client opens 200 connections first, then sends all 200 requests at once (a
barrier). A query string of its own per trial makes the key cold for both caches.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from typing import Any

from .common import PORTS, Run, Server, get, say, spread


def _burst(port: int, path: str, n: int, timeout: float) -> list[dict[str, Any]]:
    barrier = threading.Barrier(n, timeout=timeout)
    results: list[dict[str, Any]] = [{} for _ in range(n)]

    def one(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.connect()
            barrier.wait()
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            results[i] = {
                "status": response.status,
                "header": response.getheader("X-Smartcache"),
                "ms": (time.perf_counter() - start) * 1000,
            }
        except Exception as exc:
            results[i] = {"status": None, "error": repr(exc)[:200]}
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return results


def run(
    bench: Run,
    python: str,
    env: dict[str, str],
    *,
    concurrency: int,
    trials: int,
    delay: float,
) -> dict[str, Any]:
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    port = PORTS["stampede"]
    threads = max(1, concurrency // 2)
    server = Server(
        port,
        [
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--backlog",
            "2048",
            "--timeout",
            "60",
        ],
        {**env, "BENCH_STAMPEDE_DELAY": str(delay)},
        "stampede",
    )
    variants = {"smartcache": "/bench/stampede/smartcache/", "django": "/bench/stampede/django/"}
    trials_out: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    run_id = time.strftime("%H%M%S")
    try:
        say(
            f"stampede: gunicorn (2 gthread workers x {threads} threads) on 127.0.0.1:{port}, "
            f"{concurrency} concurrent requests per cold key, view takes {delay}s"
        )
        server.start(python)
        for path in variants.values():  # warm the workers (imports, connections)
            get(port, f"{path}?trial=warm-{run_id}")
        for t in range(trials):
            for name, path in variants.items():
                trial = f"{run_id}-{t}"
                results = _burst(port, f"{path}?trial={trial}", concurrency, timeout=60)
                runs = int(redis.get(f"bench:runs:{name}:{trial}") or 0)
                _status, headers, _body = get(port, f"{path}?trial={trial}")
                after = headers.get("X-Smartcache", "-")
                statuses = Counter(str(r.get("status")) for r in results)
                labels = Counter(str(r.get("header")) for r in results)
                errors = [r["error"] for r in results if "error" in r][:3]
                trials_out[name].append(
                    {
                        "trial": t + 1,
                        "view_runs": runs,
                        "statuses": dict(statuses),
                        "x_smartcache": dict(labels),
                        "latency_ms": spread([r["ms"] for r in results if "ms" in r]),
                        "next_request_after": after,
                        "errors": errors,
                    }
                )
                say(f"  trial {t + 1}: {name}: view ran {runs}x for {concurrency} requests")
    finally:
        server.stop()
    summary = {
        name: {
            "view_runs": spread([t["view_runs"] for t in rows]),
            "all_200": all(t["statuses"] == {"200": concurrency} for t in rows),
        }
        for name, rows in trials_out.items()
    }
    data = {
        "config": {
            "concurrency": concurrency,
            "trials": trials,
            "view_delay_s": delay,
            "server": f"gunicorn --workers 2 --worker-class gthread --threads {threads}",
        },
        "summary": summary,
        "trials": trials_out,
    }
    bench.save("stampede", data)
    return data
