"""Cost of the cursor watcher (django_smartcache.dbwrites) on SELECT-heavy work.

Runs the same work with and without the execute wrapper, interleaved over several
rounds, and prints the per-query overhead:

- an ORM query (``filter(pk=...).values_list(...).first()``) on SQLite in memory: the
  overhead relative to a realistic query;
- ``cursor.execute("SELECT 1")`` through Django's cursor: a cheap statement, so the
  wrapper's own cost is not lost in the noise of a 100+ microsecond ORM query.

The overhead is taken from the fastest round of each (least disturbed by other load)
and from the medians. Part of ``python3 dev.py bench`` (section ``wrapper``).
Usage: python bench/execute_wrapper.py [--rounds 7] [--queries 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.pop("SMARTCACHE_TEST_DATABASE_URL", None)
# tests.settings wants a Redis URL or fakeredis (not in the bench extra); no Redis call is made.
os.environ.setdefault("SMARTCACHE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()

    import django
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = ":memory:"
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from django_smartcache.invalidation.dbwrites import WATCHER
    from tests.testapp.models import Category, Product

    call_command("migrate", run_syncdb=True, verbosity=0)
    category = Category.objects.create(name="C", slug="c")
    for i in range(50):
        Product.objects.create(name=f"P{i}", slug=f"p{i}", price=i, category=category)
    pks = list(Product.objects.values_list("pk", flat=True))

    def work() -> float:
        start = time.perf_counter_ns()
        for n in range(args.queries):
            Product.objects.filter(pk=pks[n % len(pks)]).values_list("price", flat=True).first()
        return (time.perf_counter_ns() - start) / args.queries

    def raw() -> float:
        n = args.queries * 10
        with connection.cursor() as cursor:
            start = time.perf_counter_ns()
            for _ in range(n):
                cursor.execute("SELECT 1")
            return (time.perf_counter_ns() - start) / n

    def set_watcher(on: bool) -> None:
        if on and WATCHER not in connection.execute_wrappers:
            connection.execute_wrappers.append(WATCHER)
        if not on and WATCHER in connection.execute_wrappers:
            connection.execute_wrappers.remove(WATCHER)

    samples: dict[str, list[float]] = {"without": [], "with": []}
    raw_samples: dict[str, list[float]] = {"without": [], "with": []}
    work()  # warm up
    raw()
    for _ in range(args.rounds):
        for name, on in (("without", False), ("with", True)):
            set_watcher(on)
            samples[name].append(work())
            raw_samples[name].append(raw())
    set_watcher(True)

    def spread(values: list[float]) -> dict[str, float]:
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    medians = {k: statistics.median(v) for k, v in samples.items()}
    raw_min = {k: min(v) for k, v in raw_samples.items()}
    raw_median = {k: statistics.median(v) for k, v in raw_samples.items()}
    overhead = raw_min["with"] - raw_min["without"]
    result = {
        "what": "execute wrapper overhead per SELECT (SQLite in memory)",
        "ns_per_query": {k: spread(v) for k, v in samples.items()},
        "ns_per_select_1": {k: spread(v) for k, v in raw_samples.items()},
        # From the fastest rounds of SELECT 1 (the medians' difference is noisier).
        "overhead_ns_per_select": overhead,
        "overhead_ns_per_select_medians": raw_median["with"] - raw_median["without"],
        "overhead_ns_per_orm_query_medians": medians["with"] - medians["without"],
        "overhead_percent": 100 * overhead / medians["without"],
        "per_request_with_50_selects_us": overhead * 50 / 1000,
        "python": sys.version.split()[0],
        "django": django.get_version(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
