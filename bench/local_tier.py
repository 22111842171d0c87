"""Section ``local``: the product page's hit served from the process-local tier.

One gunicorn (2 sync workers, the throughput section's setup) with ``SMARTCACHE["LOCAL"] =
{}`` serves the product page's variants; wrk loads them in interleaved rounds (Django's
``cache_page``, the smartcache HIT, now from each worker's memory, one raw ``GET`` and the
constant view), so the ratios compare numbers from the same server, minutes apart at most.
Two more: ``floor``, the constant bytes with the visitor's own CSRF token and cookie (the
least a correct cache of such a page with a form must do, see ``views.csrf_floor``; the demo's
product page itself has no form),
and ``formless``, a smartcache HIT from memory of the same bytes as a page without a form
(no token to fill in), against the same constant view.
``stack`` and ``stack_constant``: the same HIT and the constant view for a returning visitor
(a cookie): ``LocalHitMiddleware`` leaves such requests to the whole stack, so this is the
local hit's own cost. Then each worker's local tier, as it last flushed its counters: local
hits and bytes kept.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

from .common import (
    PORTS,
    SLUG,
    VARIANTS,
    Run,
    Server,
    _proc_jiffies,
    get,
    ratio,
    run_wrk,
    say,
    spread,
)
from .throughput import warm

PATHS = {
    **{name: VARIANTS[name][1] for name in ("django", "smartcache", "one_get", "constant")},
    "floor": f"/bench/csrf-floor/products/{SLUG}/",
    "formless": f"/bench/csrf/without-form/{SLUG}/",
    # Returning visitors (a cookie, not a session): never answered by LocalHitMiddleware,
    # so the local hit goes through the whole stack; against the constant view, same cookie.
    "stack": VARIANTS["smartcache"][1],
    "stack_constant": VARIANTS["constant"][1],
}
HEADERS = {"stack": {"Cookie": "returning=1"}, "stack_constant": {"Cookie": "returning=1"}}
NAMES = tuple(PATHS)
HZ = os.sysconf("SC_CLK_TCK")


def _workers() -> dict[str, dict[str, int]]:
    """``local|<host>:<pid>|<event>`` counters of the workers (flushed every few seconds)."""
    from django_smartcache.core import stats
    from django_smartcache.stores.factory import get_store

    found: dict[str, dict[str, int]] = defaultdict(dict)
    for name, amount in get_store().read_stats([]).items():
        parsed = stats.parse(name)
        if parsed and parsed[0] == stats.LOCAL:
            found[parsed[1]][parsed[2]] = int(amount)
    return dict(found)


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
    server = Server(
        PORTS["local"],
        ["--workers", "2", "--worker-class", "sync"],
        {**env, "BENCH_LOCAL_TIER": "1"},
        "local",
    )
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    try:
        server.start(python)
        say(f"local: gunicorn (2 sync workers, SMARTCACHE['LOCAL'] = {{}}) on :{server.port}")
        warm(server.port, warm_seconds, connections, [PATHS[name] for name in NAMES])
        for r in range(rounds):
            line = []
            for name in NAMES:
                workers = server.worker_pids()
                before = sum(_proc_jiffies(pid) for pid in workers)
                result = run_wrk(
                    server.port,
                    PATHS[name],
                    seconds=seconds,
                    connections=connections,
                    headers=HEADERS.get(name),
                )
                used = sum(_proc_jiffies(pid) for pid in workers) - before
                result["worker_cpu_us"] = used / HZ / max(1, result["requests"]) * 1e6
                result["round"] = r + 1
                samples[name].append(result)
                line.append(f"{name} {result['rps']:.0f}")
            say(f"  round {r + 1}/{rounds}: " + ", ".join(line) + " req/s")
        for _ in range(3):  # a request ends, a worker flushes its counters (every 5 s)
            get(server.port, VARIANTS["smartcache"][1])
        workers = _workers()
    finally:
        server.stop()
    summary: dict[str, Any] = {
        name: {
            "rps": spread([r["rps"] for r in runs]),
            "errors": sum(sum(r["errors"].values()) for r in runs),
        }
        for name, runs in samples.items()
    }
    for name in NAMES:
        summary[name]["vs_ceiling_per_round"] = spread(
            [a["rps"] / b["rps"] for a, b in zip(samples[name], samples["constant"], strict=True)]
        )
        summary[name]["vs_ceiling"] = ratio(
            summary[name]["rps"]["median"], summary["constant"]["rps"]["median"]
        )
    for name in NAMES:  # what a request costs the workers, over the constant view's
        summary[name]["worker_cpu_us"] = spread([r["worker_cpu_us"] for r in samples[name]])
        summary[name]["extra_cpu_us_per_round"] = spread(
            [
                a["worker_cpu_us"] - b["worker_cpu_us"]
                for a, b in zip(samples[name], samples["constant"], strict=True)
            ]
        )
    summary["stack"]["vs_stack_constant_per_round"] = spread(
        [
            a["rps"] / b["rps"]
            for a, b in zip(samples["stack"], samples["stack_constant"], strict=True)
        ]
    )
    summary["smartcache"]["vs_floor_per_round"] = spread(
        [a["rps"] / b["rps"] for a, b in zip(samples["smartcache"], samples["floor"], strict=True)]
    )
    data = {
        "config": {
            "server": "gunicorn --workers 2 --worker-class sync, SMARTCACHE['LOCAL'] = {}",
            "wrk": f"-t1 -c{connections} -d{seconds}s",
            "rounds": rounds,
        },
        "summary": summary,
        "workers_local_tier": workers,
        "samples": dict(samples),
    }
    bench.save("local", data)
    say(
        "local: smartcache HIT from memory "
        f"{summary['smartcache']['vs_ceiling_per_round']['median']:.2f}x the constant view "
        f"({summary['smartcache']['vs_floor_per_round']['median']:.2f}x the CSRF floor, itself "
        f"{summary['floor']['vs_ceiling_per_round']['median']:.2f}x); a page without a form "
        f"{summary['formless']['vs_ceiling_per_round']['median']:.2f}x; worker CPU per request: "
        f"constant {summary['constant']['worker_cpu_us']['median']:.0f} µs, HIT "
        f"+{summary['smartcache']['extra_cpu_us_per_round']['median']:.0f} µs, floor "
        f"+{summary['floor']['extra_cpu_us_per_round']['median']:.0f} µs, without a form "
        f"+{summary['formless']['extra_cpu_us_per_round']['median']:.0f} µs; through the whole "
        f"stack (a returning visitor's cookie) "
        f"{summary['stack']['vs_stack_constant_per_round']['median']:.2f}x the constant view "
        f"with that cookie; workers: {workers}"
    )
    return data


def target(data: dict[str, Any]) -> tuple[str, str, Any, bool]:
    s = data["summary"]
    got = s["smartcache"]["vs_ceiling_per_round"]["median"]
    shown = f"{got:.2f}x"
    if "floor" in s:  # results from before the floor and formless variants lack them
        shown += (
            f" (CSRF floor {s['floor']['vs_ceiling_per_round']['median']:.2f}x; "
            f"page without a form {s['formless']['vs_ceiling_per_round']['median']:.2f}x"
        )
        if "stack" in s:
            shown += (
                "; a returning visitor's, through the whole stack "
                f"{s['stack']['vs_stack_constant_per_round']['median']:.2f}x"
            )
        shown += ")"
    return ("hit throughput from the local tier vs ceiling", ">= 0.9x", shown, got >= 0.9)


def report_line(data: dict[str, Any]) -> str:
    s = data["summary"]
    kept = [w.get("BYTES", 0) for w in data["workers_local_tier"].values()]
    memory = ", ".join(f"{b / 1024:.0f} KiB" for b in kept) or "-"
    floor = ""
    if "floor" in s:
        floor = (
            f", the CSRF floor {s['floor']['vs_ceiling_per_round']['median']:.2f}x (the HIT is "
            f"{s['smartcache']['vs_floor_per_round']['median']:.2f}x it); the same page "
            f"without a form {s['formless']['vs_ceiling_per_round']['median']:.2f}x"
        )
    if "stack" in s:  # results from before LocalHitMiddleware lack it
        floor += (
            "; through the whole stack (a returning visitor's cookie, not answered by "
            f"`LocalHitMiddleware`) {s['stack']['vs_stack_constant_per_round']['median']:.2f}x"
        )
    if "worker_cpu_us" in s["constant"]:  # results from before CPU accounting lack it
        floor += (
            "; worker CPU per request: constant view "
            f"{s['constant']['worker_cpu_us']['median']:.0f}"
            f" µs, HIT +{s['smartcache']['extra_cpu_us_per_round']['median']:.0f} µs, CSRF floor "
            f"+{s['floor']['extra_cpu_us_per_round']['median']:.0f} µs, without a form "
            f"+{s['formless']['extra_cpu_us_per_round']['median']:.0f} µs"
        )
    return (
        "| Product page HIT from the local tier (`LOCAL = {}`; repeated cookieless requests "
        "answered by `LocalHitMiddleware`), same server: vs constant view "
        f"| {s['smartcache']['rps']['median']:,.0f} req/s, "
        f"{s['smartcache']['vs_ceiling_per_round']['median']:.2f}x (Django `cache_page` "
        f"{s['django']['vs_ceiling_per_round']['median']:.2f}x, one raw GET "
        f"{s['one_get']['vs_ceiling_per_round']['median']:.2f}x{floor}); kept per worker: "
        f"{memory} | - |"
    )
