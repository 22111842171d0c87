"""Section 1: throughput and latency of the product page, four variants, interleaved.

One gunicorn (``--workers 2``, sync: one worker per core, as a CPU-bound Django site is usually
run) serves all four variants, so they share the process, the settings and the middleware stack.
wrk loads one variant at a time for a few seconds, in the order A B C D, A B C D, ... over
several rounds; only numbers from the same run are compared.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .common import (
    PORTS,
    SCRATCH,
    VARIANTS,
    CpuMeter,
    Run,
    Server,
    get,
    ratio,
    run_wrk,
    say,
    spread,
)


def _smartcache_stats() -> dict[str, int]:
    """The library's shared hit/miss counters for the product page (flushed by the workers)."""
    try:
        from django_smartcache.stores.factory import get_store

        found = get_store().read_stats([])
    except Exception as exc:  # the stats API is internal; never fail the bench on it
        return {"error": repr(exc)}
    return {
        k.rsplit("|", 1)[-1]: int(v)
        for k, v in found.items()
        if "product_detail" in k and "shop.views" in k and "|dep:" not in k
    }


def capture_page(port: int, body_file: Path) -> dict[str, Any]:
    """Save the uncached page's bytes for the constant view; check every variant's body."""
    status, _headers, body = get(port, VARIANTS["uncached"][1])
    assert status == 200, status
    body_file.parent.mkdir(parents=True, exist_ok=True)
    body_file.write_bytes(body)
    sizes = {}
    for name, (_label, path) in VARIANTS.items():
        _status, _h, got = get(port, path)
        sizes[name] = len(got)
    if len(set(sizes.values())) != 1:
        say(f"warning: the variants' bodies differ in size: {sizes}")
    return sizes


def warm(
    port: int,
    wrk_seconds: float,
    connections: int,
    paths: list[str] | None = None,
    hit: str = VARIANTS["smartcache"][1],
) -> dict[str, Any]:
    """Fill the caches and warm the workers on ``paths`` (default: every variant); check
    that ``hit`` answers HIT."""
    paths = paths or [path for _label, path in VARIANTS.values()]
    for path in paths:
        for _ in range(6):
            get(port, path)
    for path in paths:
        run_wrk(port, path, seconds=wrk_seconds, connections=connections)
    _status, headers, _body = get(port, hit)
    state = headers.get("X-Smartcache")
    if state != "HIT":
        raise RuntimeError(f"{hit} on :{port} answers {state!r} after warming, not HIT")
    return {"smartcache_header_after_warmup": state}


def run(
    bench: Run,
    python: str,
    env: dict[str, str],
    *,
    rounds: int,
    seconds: float,
    connections: int,
    warm_seconds: float,
    profile_seconds: float,
) -> dict[str, Any]:
    port = PORTS["throughput"]
    server = Server(port, ["--workers", "2", "--worker-class", "sync"], env, "throughput")
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    profile: dict[str, Any] = {}
    try:
        say(f"throughput: gunicorn (2 sync workers) on 127.0.0.1:{port}")
        server.start(python)
        sizes = capture_page(port, Path(env["BENCH_CONSTANT_BODY"]))
        checks = warm(port, warm_seconds, connections)
        stats_before = _smartcache_stats()
        pids = [server.pid, *server.worker_pids()]
        for r in range(rounds):
            line = []
            for name, (_label, path) in VARIANTS.items():
                with CpuMeter(pids) as meter:
                    result = run_wrk(port, path, seconds=seconds, connections=connections)
                result.update(
                    round=r + 1,
                    machine_busy_pct=round(meter.busy_pct, 1),
                    foreign_cpu_pct=round(meter.foreign_pct, 1),
                )
                samples[name].append(result)
                line.append(f"{name} {result['rps']:.0f}")
            say(f"  round {r + 1}/{rounds}: " + ", ".join(line) + " req/s")
        _status, headers, _body = get(port, VARIANTS["smartcache"][1])
        checks["smartcache_header_after_load"] = headers.get("X-Smartcache")
        if profile_seconds:
            profile = profile_hits(python, server, profile_seconds, connections)
    finally:
        server.stop()
    stats_after = _smartcache_stats()
    summary = summarize(samples)
    data = {
        "config": {
            "server": "gunicorn --workers 2 --worker-class sync",
            "wrk": f"-t1 -c{connections} -d{seconds}s (Connection: close: sync workers)",
            "rounds": rounds,
            "seconds_per_sample": seconds,
            "order": list(VARIANTS),
            "paths": {k: v[1] for k, v in VARIANTS.items()},
            "body_bytes": sizes,
        },
        "checks": {
            **checks,
            "smartcache_counters_before": stats_before,
            "smartcache_counters_after": stats_after,
        },
        "summary": summary,
        "samples": samples,
        "profile": profile,
    }
    bench.save("throughput", data)
    return data


def summarize(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, runs in samples.items():
        errors = sum(sum(r["errors"].values()) for r in runs)
        out[name] = {
            "label": VARIANTS[name][0],
            "rps": spread([r["rps"] for r in runs]),
            "p50_ms": spread([r["p50_us"] / 1000 for r in runs]),
            "p99_ms": spread([r["p99_us"] / 1000 for r in runs]),
            "errors": errors,
            "foreign_cpu_pct": spread([r["foreign_cpu_pct"] for r in runs]),
        }
    med = {name: out[name]["rps"]["median"] for name in out}
    for name in out:
        out[name]["vs_django"] = ratio(med[name], med.get("django"))
        out[name]["vs_ceiling"] = ratio(med[name], med.get("constant"))
        # Paired per round (same minute, same background load): a steadier view of the ratio.
        if "django" in samples and "constant" in samples:
            pairs_d = [
                a["rps"] / b["rps"] for a, b in zip(samples[name], samples["django"], strict=True)
            ]
            pairs_c = [
                a["rps"] / b["rps"] for a, b in zip(samples[name], samples["constant"], strict=True)
            ]
            out[name]["vs_django_per_round"] = spread(pairs_d)
            out[name]["vs_ceiling_per_round"] = spread(pairs_c)
    return out


# --------------------------------------------------------------------------- profile


_BUCKETS = [
    # (bucket, test on one frame "function (file:line)"); the innermost matching frame wins
    # py-spy sees Python frames only: it cannot tell redis-py's own work from waiting in recv()
    # for the reply, so both count as the round trip.
    ("Redis round trip (redis-py + waiting for the reply)", re.compile(r"\(redis/")),
    ("django-redis (keys, unpickle)", re.compile(r"\(django_redis/")),
    ("smartcache (keys, arguments, thaw, stats)", re.compile(r"\(django_smartcache/")),
    ("Django cache middleware", re.compile(r"\(django/(middleware/cache|utils/cache)")),
]


def profile_hits(python: str, server: Server, seconds: float, connections: int) -> dict[str, Any]:
    """Sample one worker with py-spy while wrk loads each cached variant (wall clock, idle too).

    Returns, per variant, the share of samples (inclusive) under the request handler spent in
    each bucket, and the raw collapsed stacks' file name (flamegraph.pl / speedscope input).
    """
    spy = str(Path(python).parent / "py-spy")
    if not Path(spy).exists():
        return {"skipped": "py-spy is not installed (bench extra)"}
    out: dict[str, Any] = {}
    workers = server.worker_pids()
    if not workers:
        return {"skipped": "no worker found"}
    for name in ("smartcache", "django", "constant"):
        path = VARIANTS[name][1]
        raw = SCRATCH / f"profile-{name}.txt"
        # Load both workers, sample one of them.
        load = subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{int(seconds) + 2}s",
                f"http://127.0.0.1:{server.port}{path}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            spy_run = subprocess.run(
                [
                    spy,
                    "record",
                    "--pid",
                    str(workers[0]),
                    "--duration",
                    str(int(seconds)),
                    "--rate",
                    "400",
                    "--idle",
                    "--format",
                    "raw",
                    "-o",
                    str(raw),
                ],
                capture_output=True,
                text=True,
                timeout=seconds + 30,
            )
        finally:
            load.wait(timeout=seconds + 30)
        if spy_run.returncode != 0 or not raw.exists():
            out[name] = {"error": (spy_run.stderr or spy_run.stdout)[-400:]}
            continue
        out[name] = _buckets(raw.read_text())
        out[name]["raw_file"] = raw.name
    return out


_LINE = re.compile(r":\d+\)$")


def _buckets(raw: str) -> dict[str, Any]:
    totals: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    handled = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        # Only time inside a request (gunicorn's handle_request and below).
        start = next(
            (i for i, f in enumerate(frames) if f.startswith("SyncWorker.handle_request")), None
        )
        if start is None:
            continue
        handled += n
        inner = frames[start:]
        bucket = "other (gunicorn, WSGI, middleware, view, response)"
        for frame in reversed(inner):
            hit = next((b for b, rx in _BUCKETS if rx.search(frame)), None)
            if hit:
                bucket = hit
                break
        totals[bucket] += n
        for frame in {_LINE.sub(")", f) for f in inner}:
            functions[frame] += n
    if not handled:
        return {"samples_in_requests": 0}
    return {
        "samples_in_requests": handled,
        "self_share_by_bucket_pct": {
            k: round(100 * v / handled, 1) for k, v in totals.most_common()
        },
        "top_inclusive_pct": {
            k: round(100 * v / handled, 1)
            for k, v in functions.most_common(45)
            if v * 50 >= handled  # 2 % and more
            and not k.startswith(("<module>", "run ", "Arbiter", "Worker.", "SyncWorker.run"))
        },
    }
