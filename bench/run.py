"""Run the benchmark suite: ``python3 dev.py bench [--smoke] [--only SECTION ...]``.

Sections (each writes ``bench/results/<date>-<section>.json`` with the machine, the versions
and the raw samples):

  throughput    the product page under gunicorn + wrk: uncached, Django's cache_page,
                smartcache HIT, one raw GET (a reference), a constant view (the ceiling);
                interleaved rounds; then a py-spy profile of one worker per cached variant
  local         the same page's HIT from the process-local tier (SMARTCACHE["LOCAL"]) on a
                gunicorn of its own, beside Django's cache_page, a raw GET and the constant view
  cluster       the smartcache HIT on a local 3-master Redis Cluster beside a standalone
                Redis (two gunicorns, interleaved wrk rounds), and the store's hit in
                process with its round trips (bench/cluster_throughput.py, bench/cluster.py)
  hitpath       the same variants in process (no HTTP), and one Redis round trip's cost
  capture       the product page's miss with dependency capture on and off (bench/capture.py)
  roundtrips    Redis round trips per hit and per miss, client side and server side
                (MONITOR), and Redis CPU per hit on a private Redis (servertime.py)
  stampede      200 concurrent requests for one cold key: how many times the view runs
  invalidation  one invalidate(Product) with 1k / 10k / 100k entries depending on Product
  churn         Redis memory before/after 10,000 invalidate + refill cycles of one page
  writes        per-save cost of the app's invalidation (signals + execute wrapper)
  wrapper       bench/execute_wrapper.py: the execute wrapper's cost per SELECT

Then ``<date>-summary.json`` (targets met or missed), ``<date>-throughput.png`` and the
generated blocks of the docs' Benchmarks page and the README's summary. ``--smoke`` runs every
section briefly into bench/.tmp/smoke/ and touches neither bench/results/ nor the docs (CI uses
it to check that the suite still runs);
``--only`` writes into bench/.tmp/partial/.

Services: MariaDB/MySQL at BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/
smartcache_bench, created if missing) and Redis at BENCH_REDIS_URL / BENCH_DJANGO_REDIS_URL
(default databases 9 and 10 of 127.0.0.1:6379, which the suite FLUSHES). wrk is installed with
apt-get when missing and running as root; otherwise the suite says how to install it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import common
from .common import RESULTS, ROOT, SCRATCH, RoundTrips, Run, env_setting, redis_db, say

SECTIONS = [
    "throughput",
    "local",
    "cluster",
    "hitpath",
    "capture",
    "roundtrips",
    "stampede",
    "invalidation",
    "churn",
    "writes",
    "wrapper",
]

FULL = {
    "rounds": 6,
    "seconds": 3,
    "connections": 4,
    "warm_seconds": 1,
    "profile_seconds": 3,
    "cluster_rounds": 5,
    "local_rounds": 5,
    "capture_rounds": 25,
    "capture_requests": 40,
    "hitpath_rounds": 5,
    "hitpath_requests": 1000,
    "rt_repeats": 5,
    "stampede_concurrency": 200,
    "stampede_trials": 3,
    "stampede_delay": 0.1,
    "inv_sizes": [1_000, 10_000, 100_000],
    "inv_repeats": 3,
    "churn_cycles": 10_000,
    "churn_every": 1_000,
    "write_rounds": 31,  # short blocks, many pairs: a burst of load hits both modes alike
    "write_saves": 60,
    "wrapper_rounds": 5,
    "wrapper_queries": 2000,
}
SMOKE = {
    **FULL,
    "rounds": 1,
    "seconds": 1,
    "profile_seconds": 0,
    "cluster_rounds": 1,
    "local_rounds": 1,
    "capture_rounds": 1,
    "capture_requests": 10,
    "hitpath_rounds": 1,
    "hitpath_requests": 100,
    "rt_repeats": 2,
    "stampede_concurrency": 50,
    "stampede_trials": 1,
    "inv_sizes": [100, 1_000],
    "inv_repeats": 1,
    "churn_cycles": 200,
    "churn_every": 100,
    "write_rounds": 1,
    "write_saves": 20,
    "wrapper_rounds": 1,
    "wrapper_queries": 200,
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dev.py bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="every section, briefly; no docs")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        metavar="SECTION",
        help="run only these sections (results in bench/.tmp/partial/ unless --out)",
    )
    parser.add_argument(
        "--no-readme",
        action="store_true",
        help="do not update README.md and the docs' Benchmarks page",
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--rounds", type=int, help="throughput rounds (default 6, min 3)")
    parser.add_argument("--seconds", type=float, help="seconds per throughput sample (3)")
    parser.add_argument("--out", type=Path, help="results directory (default bench/results)")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- preflight


def preflight(install: bool) -> None:
    import redis

    common.ensure_wrk(install)
    urls = [env_setting("BENCH_REDIS_URL"), env_setting("BENCH_DJANGO_REDIS_URL")]
    if redis_db(urls[0]) == redis_db(urls[1]) and urls[0] == urls[1]:
        raise SystemExit("bench: BENCH_REDIS_URL and BENCH_DJANGO_REDIS_URL must differ")
    for url in urls:
        if not any(h in url for h in ("127.0.0.1", "localhost", "[::1]")):
            raise SystemExit(
                f"bench: {url} is not on this machine; the suite only targets 127.0.0.1"
            )
        try:
            redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping()
        except Exception as exc:
            raise SystemExit(
                f"bench: Redis does not answer at {url} ({exc}). Start it, e.g. "
                "`redis-server --daemonize yes --save '' --appendonly no`, or set BENCH_REDIS_URL."
            ) from None
    _create_database(env_setting("BENCH_DATABASE_URL"))


def _create_database(url: str) -> None:
    import dj_database_url

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.mysql":
        return
    try:
        import MySQLdb
    except ImportError:
        raise SystemExit("bench: mysqlclient is missing (the bench extra installs it)") from None
    try:
        conn = MySQLdb.connect(
            host=config.get("HOST") or "127.0.0.1",
            port=int(config.get("PORT") or 3306),
            user=config.get("USER") or "root",
            passwd=config.get("PASSWORD") or "",
            connect_timeout=5,
        )
    except MySQLdb.Error as exc:
        raise SystemExit(
            f"bench: MariaDB/MySQL does not answer for {url} ({exc}). Start it (mariadbd) "
            "or set BENCH_DATABASE_URL."
        ) from None
    with conn.cursor() as cursor:
        name = config["NAME"].replace("`", "")
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    conn.close()


def flush_bench_databases() -> None:
    import redis

    for url in (env_setting("BENCH_REDIS_URL"), env_setting("BENCH_DJANGO_REDIS_URL")):
        redis.Redis.from_url(url).flushdb()


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    args = parse(argv)
    started = time.monotonic()
    cfg = dict(SMOKE if args.smoke else FULL)
    if args.rounds:
        cfg["rounds"] = max(3, args.rounds) if not args.smoke else args.rounds
    if args.seconds:
        cfg["seconds"] = args.seconds
    sections = args.only or SECTIONS
    # Only a full run writes bench/results/ (and the docs); partial runs go to scratch.
    default_out = SCRATCH / "smoke" if args.smoke else SCRATCH / "partial" if args.only else RESULTS
    out_dir = args.out or default_out
    python = sys.executable

    say("preflight: wrk, Redis, MariaDB")
    preflight(install=not args.no_install)
    env = common.bench_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith(("BENCH_", "DJANGO_"))})
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = env["DATABASE_URL"], env["REDIS_URL"]
    say(
        f"database {env['BENCH_DATABASE_URL']}; Redis {env['BENCH_REDIS_URL']} (smartcache) and "
        f"{env['BENCH_DJANGO_REDIS_URL']} (Django's cache_page), both flushed"
    )
    flush_bench_databases()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_redis import get_redis_connection

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", verbosity=0)

    bench = Run(
        out_dir=out_dir,
        date=common.today(),
        smoke=args.smoke,
        machine=common.machine(),
        versions=common.versions(get_redis_connection("default"), connection),
        config=cfg,
    )
    counter = RoundTrips()
    results: dict[str, Any] = {}
    timings: dict[str, float] = {}
    errors: dict[str, str] = {}
    body_file = Path(env["BENCH_CONSTANT_BODY"])

    def section(name: str, fn) -> None:
        if name not in sections:
            return
        t0 = time.monotonic()
        say(f"[{name}]")
        try:
            results[name] = fn()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            say(f"!! section {name} failed: {errors[name]}")
            import traceback

            traceback.print_exc()
        timings[name] = round(time.monotonic() - t0, 1)

    from . import (
        capture,
        churn,
        cluster_throughput,
        hitpath,
        invalidation,
        local_tier,
        roundtrips,
        stampede,
        throughput,
        writes,
    )

    section(
        "throughput",
        lambda: throughput.run(
            bench,
            python,
            env,
            rounds=cfg["rounds"],
            seconds=cfg["seconds"],
            connections=cfg["connections"],
            warm_seconds=cfg["warm_seconds"],
            profile_seconds=cfg["profile_seconds"],
        ),
    )
    if not body_file.exists():  # the constant and stampede views serve these bytes
        from django.test import Client

        body_file.parent.mkdir(parents=True, exist_ok=True)
        page = Client(HTTP_HOST="127.0.0.1").get(common.VARIANTS["uncached"][1])
        body_file.write_bytes(page.content)
    section(
        "local",
        lambda: local_tier.run(
            bench,
            python,
            env,
            rounds=cfg["local_rounds"],
            seconds=cfg["seconds"],
            connections=cfg["connections"],
            warm_seconds=cfg["warm_seconds"],
        ),
    )
    section(
        "cluster",
        lambda: cluster_throughput.run(
            bench,
            python,
            env,
            rounds=cfg["cluster_rounds"],
            seconds=cfg["seconds"],
            connections=cfg["connections"],
            warm_seconds=cfg["warm_seconds"],
        ),
    )
    section(
        "hitpath",
        lambda: hitpath.run(bench, rounds=cfg["hitpath_rounds"], requests=cfg["hitpath_requests"]),
    )
    section(
        "capture",
        lambda: capture.run(bench, rounds=cfg["capture_rounds"], requests=cfg["capture_requests"]),
    )
    section(
        "roundtrips",
        lambda: roundtrips.run(bench, counter, repeats=cfg["rt_repeats"], python=python),
    )
    section(
        "stampede",
        lambda: stampede.run(
            bench,
            python,
            env,
            concurrency=cfg["stampede_concurrency"],
            trials=cfg["stampede_trials"],
            delay=cfg["stampede_delay"],
        ),
    )
    section(
        "invalidation",
        lambda: invalidation.run(
            bench, counter, sizes=cfg["inv_sizes"], repeats=cfg["inv_repeats"], contrast=True
        ),
    )
    section("churn", lambda: churn.run(bench, cycles=cfg["churn_cycles"], every=cfg["churn_every"]))
    section(
        "writes",
        lambda: writes.run(bench, counter, rounds=cfg["write_rounds"], saves=cfg["write_saves"]),
    )
    section("wrapper", lambda: execute_wrapper(bench, python, cfg))

    flush_bench_databases()
    from .report import chart, targets, update_docs

    took = time.monotonic() - started
    m = bench.machine
    info = {
        "date": bench.date,
        "took_s": round(took, 1),
        "machine": {**m, "load_average_at_end": list(os.getloadavg())},
        "versions": bench.versions,
        "config": cfg,
        "sections_s": timings,
        "errors": errors,
        "chart_title": f"django-smartcache product page, {bench.date}: {m['cpu_model']}, "
        f"{m['cores']} cores, {m['memory_gib']} GiB",
    }
    goals = targets(results)
    chart_name = None
    if "throughput" in results:
        chart_name = f"{bench.date}-throughput.png"
        chart(results["throughput"], out_dir / chart_name, info["chart_title"])
        bench.files.append(chart_name)
    bench.save("summary", {**info, "targets": goals, "files": list(bench.files)})
    full = not args.smoke and not args.no_readme and out_dir == RESULTS and not args.only
    if full:
        for path in update_docs(results, chart_name, info):
            say(f"{path}: benchmark block updated")
    say(f"results in {out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir}/")
    for g in goals:
        mark = "MET   " if g["met"] else "MISSED"
        say(f"{mark} {g['target']}: {g['measured']} (goal {g['goal']})")
    say(f"sections (s): {timings}; total {took:.0f} s")
    if errors:
        say(f"failed sections: {', '.join(errors)}")
        return 1
    return 0


def execute_wrapper(bench: Run, python: str, cfg: dict[str, Any]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [
            python,
            str(ROOT / "bench" / "execute_wrapper.py"),
            "--rounds",
            str(cfg["wrapper_rounds"]),
            "--queries",
            str(cfg["wrapper_queries"]),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-800:])
    data = json.loads(out.stdout[out.stdout.index("{") :])
    say(
        f"execute wrapper: +{data['overhead_ns_per_select']:.0f} ns per SELECT "
        f"({data['overhead_percent']:.1f} %)"
    )
    bench.save("execute-wrapper", {"result": data})
    return data


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
