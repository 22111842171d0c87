"""Section 6: what the app adds to each write: signal + execute-wrapper invalidation.

A loop of ``product.save()`` on MariaDB, in three modes, interleaved over rounds:

- ``off``: the app's model-signal receivers and its execute wrapper are taken out (this process
  only; put back afterwards): no invalidation at all, the plain Django + MariaDB cost;
- ``on``: the app as installed, without write-through (``WRITE_THROUGH = []``): the watcher sees
  the UPDATE, the receiver sees ``post_save``, one bump after commit;
- ``on + write-through``: the demo's settings (products are write-through: after the bump, the
  fresh row is reloaded and stored in the object cache);
- ``cacheops``: a peer, django-cacheops, invalidating the same saves (``ops='all'`` on the
  product), measured in a subprocess against its own ``cacheops_off`` baseline (see
  ``CACHEOPS_NOTE``).

Each mode runs autocommit saves (one commit, one bump per save) and saves inside one
transaction (the bumps of a transaction are sent once, at commit).
The execute wrapper's cost on reads is measured by ``bench/execute_wrapper.py``.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections import defaultdict
from decimal import Decimal
from typing import Any

from .common import PAGE, RoundTrips, Run, say, spread

_SIGNALS = ("pre_save", "post_save", "pre_delete", "post_delete", "m2m_changed")


def _module_of(entry: Any) -> str:
    ref = entry[1]
    fn = ref() if isinstance(ref, weakref.ReferenceType) else ref
    return getattr(fn, "__module__", "") or ""


@contextlib.contextmanager
def app_invalidation_off(prefixes: tuple[str, ...] = ("django_smartcache",)):
    """Take out the write hooks of the packages named by ``prefixes`` in this process:
    their signal receivers and execute wrappers (put back afterwards)."""
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.db.models import signals

    saved = []
    for signal in [getattr(signals, name) for name in _SIGNALS] + [connection_created]:
        with signal.lock:
            saved.append((signal, list(signal.receivers)))
            signal.receivers = [
                e for e in signal.receivers if not _module_of(e).startswith(prefixes)
            ]
            signal.sender_receivers_cache.clear()
    connection.ensure_connection()
    wrappers = list(connection.execute_wrappers)
    connection.execute_wrappers[:] = [
        w for w in wrappers if not type(w).__module__.startswith(prefixes)
    ]
    removed = {
        "receivers": sum(len(before) - len(s.receivers) for s, before in saved),
        "execute_wrappers": len(wrappers) - len(connection.execute_wrappers),
    }
    try:
        yield removed
    finally:
        connection.execute_wrappers[:] = wrappers
        for signal, receivers in saved:
            with signal.lock:
                signal.receivers = receivers
                signal.sender_receivers_cache.clear()


def _product():
    from example_project.shop.models import Product

    product = Product.objects.exclude(slug=PAGE.strip("/").split("/")[-1]).order_by("pk").first()
    assert product is not None
    return product


def _measure(modes: dict[str, Any], product: Any, *, rounds: int, saves: int) -> dict[str, Any]:
    """Interleaved rounds of ``saves`` saves per mode, autocommit and in one transaction."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    def loop(atomic: bool) -> float:
        start = time.perf_counter()
        with transaction.atomic() if atomic else contextlib.nullcontext():
            for i in range(saves):
                product.price = Decimal(100 + i % 50)
                product.save()
        return (time.perf_counter() - start) / saves * 1e6

    samples: dict[str, list[float]] = defaultdict(list)
    removed: dict[str, Any] = {}
    for mode, make in modes.items():  # warm up each mode once
        with make() as found:
            loop(False)
            removed[mode] = found
    for _ in range(rounds):
        for mode, make in modes.items():
            for atomic in (False, True):
                with make():
                    samples[f"{mode}|{'transaction' if atomic else 'autocommit'}"].append(
                        loop(atomic)
                    )
    statements: dict[str, list[str]] = {}
    for mode, make in modes.items():
        with make(), CaptureQueriesContext(connection) as queries:
            product.save()
        statements[mode] = [q["sql"][:120] for q in queries.captured_queries]
    return {"samples": dict(samples), "statements": statements, "removed": removed}


def paired_overhead(off: list[float], on: list[float], base: float) -> dict[str, Any]:
    """The app's cost (per save, per miss): the median of the per-round differences (each round runs
    both modes seconds apart, under the same background load; the difference of the two
    medians swings with load on a small VM), with the difference of medians beside it."""
    paired = sorted(b - a for a, b in zip(off, on, strict=True))
    overhead = paired[len(paired) // 2]
    return {
        "overhead_us": overhead,
        "overhead_pct": 100 * overhead / base,
        "overhead_us_per_round": paired,
        "overhead_us_of_medians": sorted(on)[len(on) // 2] - sorted(off)[len(off) // 2],
    }


def run(bench: Run, counter: RoundTrips, *, rounds: int, saves: int) -> dict[str, Any]:
    from django.conf import settings
    from django.test.utils import override_settings

    counter.install()
    product = _product()
    original_price = product.price
    no_write_through = {**settings.SMARTCACHE, "WRITE_THROUGH": []}
    modes = {
        "off": lambda: app_invalidation_off(),
        "on": lambda: override_settings(SMARTCACHE=no_write_through),
        "on_write_through": contextlib.nullcontext,
    }
    found = _measure(modes, product, rounds=rounds, saves=saves)
    samples, removed = found["samples"], found["removed"]["off"]
    if not removed.get("receivers") or not removed.get("execute_wrappers"):
        say(f"warning: could not take the app's write hooks out: {removed}")
    trips: dict[str, float] = {}
    for mode, make in modes.items():
        with make(), counter.count() as box:
            for _ in range(10):
                product.save()
        trips[mode] = len(box["trips"]) / 10
    product.price = original_price
    product.save()

    summary: dict[str, Any] = {}
    for key, values in samples.items():
        summary[key] = {"us_per_save": spread(values)}
    for commit in ("autocommit", "transaction"):
        base = summary[f"off|{commit}"]["us_per_save"]["median"]
        for mode in ("on", "on_write_through"):
            entry = summary[f"{mode}|{commit}"]
            entry.update(
                paired_overhead(samples[f"off|{commit}"], samples[f"{mode}|{commit}"], base)
            )
    cacheops = _cacheops(rounds, saves)
    if "summary" in cacheops:
        summary.update(cacheops["summary"])
    say(
        "writes (us/save, median): "
        + ", ".join(f"{k} {v['us_per_save']['median']:.0f}" for k, v in summary.items())
    )
    data = {
        "config": {"rounds": rounds, "saves_per_sample": saves, "hooks_removed_for_off": removed},
        "summary": summary,
        "redis_round_trips_per_autocommit_save": trips,
        "sql_statements_of_one_autocommit_save": found["statements"],
        "samples_us_per_save": samples,
        "cacheops": cacheops,
    }
    bench.save("writes", data)
    return data


# --------------------------------------------------------------------------- django-cacheops

CACHEOPS_NOTE = (
    "django-cacheops (CACHEOPS = {'shop.product': {'ops': 'all'}}, its Redis on "
    "BENCH_DJANGO_REDIS_URL's database, flushed by the suite) in a process of its own "
    "(bench.settings_cacheops: cacheops patches QuerySet, Manager, Atomic and CursorWrapper "
    "process-wide), with smartcache's hooks taken out; 'cacheops_off' is the same process with "
    "cacheops' receivers taken out too, the baseline of its overhead. Its invalidation of a "
    "save: a SELECT of the old row (pre_save), then one Lua script per old and new state, "
    "queued until commit in a transaction; nothing is kept if the process dies after commit."
)


def _cacheops(rounds: int, saves: int) -> dict[str, Any]:
    """The same save loop with django-cacheops' invalidation (a subprocess: see the note)."""
    import json
    import os
    import subprocess
    import sys

    from .common import ROOT

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_cacheops"}
    cmd = [sys.executable, "-m", "bench.writes", "--rounds", str(rounds), "--saves", str(saves)]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        say(f"warning: the django-cacheops comparison failed: {out.stderr.strip()[-600:]}")
        return {"error": out.stderr.strip()[-2000:], "note": CACHEOPS_NOTE}
    return json.loads(out.stdout[out.stdout.index("{") :])


def _cacheops_main(rounds: int, saves: int) -> dict[str, Any]:
    import django

    django.setup()
    from importlib import metadata

    from cacheops import invalidate_all

    invalidate_all()
    product = _product()
    original_price = product.price
    modes = {
        "cacheops_off": lambda: app_invalidation_off(("django_smartcache", "cacheops")),
        "cacheops": lambda: app_invalidation_off(),
    }
    found = _measure(modes, product, rounds=rounds, saves=saves)
    product.price = original_price
    product.save()
    summary: dict[str, Any] = {}
    for key, values in found["samples"].items():
        summary[key] = {"us_per_save": spread(values)}
    for commit in ("autocommit", "transaction"):
        base = summary[f"cacheops_off|{commit}"]["us_per_save"]["median"]
        entry = summary[f"cacheops|{commit}"]
        samples = found["samples"]
        off, on = samples[f"cacheops_off|{commit}"], samples[f"cacheops|{commit}"]
        entry.update(paired_overhead(off, on, base))
    return {
        "note": CACHEOPS_NOTE,
        "version": metadata.version("django-cacheops"),
        "summary": summary,
        "sql_statements_of_one_autocommit_save": found["statements"],
        "hooks_removed": found["removed"],
        "samples_us_per_save": found["samples"],
    }


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description="the writes section's django-cacheops rows")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--saves", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(_cacheops_main(args.rounds, args.saves)))
