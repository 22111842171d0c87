"""Section 6: what the app adds to each write: signal + execute-wrapper invalidation.

A loop of ``product.save()`` on MariaDB, in three modes, interleaved over rounds:

- ``off``: the app's model-signal receivers and its execute wrapper are taken out (this process
  only; put back afterwards): no invalidation at all, the plain Django + MariaDB cost;
- ``on``: the app as installed, without write-through (``WRITE_THROUGH = []``): the watcher sees
  the UPDATE, the receiver sees ``post_save``, one bump after commit;
- ``on + write-through``: the demo's settings (products are write-through: after the bump, the
  fresh row is reloaded and stored in the object cache).

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


def _is_ours(entry: Any) -> bool:
    ref = entry[1]
    fn = ref() if isinstance(ref, weakref.ReferenceType) else ref
    return (getattr(fn, "__module__", "") or "").startswith("django_smartcache")


@contextlib.contextmanager
def app_invalidation_off():
    """Take out the app's write hooks in this process: signal receivers and execute wrapper."""
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.db.models import signals

    saved = []
    for signal in [getattr(signals, name) for name in _SIGNALS] + [connection_created]:
        with signal.lock:
            saved.append((signal, list(signal.receivers)))
            signal.receivers = [e for e in signal.receivers if not _is_ours(e)]
            signal.sender_receivers_cache.clear()
    connection.ensure_connection()
    wrappers = list(connection.execute_wrappers)
    connection.execute_wrappers[:] = [
        w for w in wrappers if not type(w).__module__.startswith("django_smartcache")
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


def run(bench: Run, counter: RoundTrips, *, rounds: int, saves: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext, override_settings

    from example_project.shop.models import Product

    counter.install()
    product = Product.objects.exclude(slug=PAGE.strip("/").split("/")[-1]).order_by("pk").first()
    assert product is not None
    original_price = product.price
    no_write_through = {**settings.SMARTCACHE, "WRITE_THROUGH": []}

    def loop(atomic: bool) -> float:
        start = time.perf_counter()
        with transaction.atomic() if atomic else contextlib.nullcontext():
            for i in range(saves):
                product.price = Decimal(100 + i % 50)
                product.save()
        return (time.perf_counter() - start) / saves * 1e6

    modes = {
        "off": lambda: app_invalidation_off(),
        "on": lambda: override_settings(SMARTCACHE=no_write_through),
        "on_write_through": contextlib.nullcontext,
    }
    samples: dict[str, list[float]] = defaultdict(list)
    trips: dict[str, float] = {}
    removed: dict[str, int] = {}
    for mode, make in modes.items():  # warm up each mode once
        with make() as found:
            loop(False)
            if mode == "off":
                removed = found
    if not removed.get("receivers") or not removed.get("execute_wrappers"):
        say(f"warning: could not take the app's write hooks out: {removed}")
    for _ in range(rounds):
        for mode, make in modes.items():
            for atomic in (False, True):
                with make():
                    samples[f"{mode}|{'transaction' if atomic else 'autocommit'}"].append(
                        loop(atomic)
                    )
    statements: dict[str, list[str]] = {}
    for mode, make in modes.items():
        with make(), counter.count() as box:
            for _ in range(10):
                product.save()
        trips[mode] = len(box["trips"]) / 10
        with make(), CaptureQueriesContext(connection) as queries:
            product.save()
        statements[mode] = [q["sql"][:120] for q in queries.captured_queries]
    product.price = original_price
    product.save()

    summary: dict[str, Any] = {}
    for key, values in samples.items():
        summary[key] = {"us_per_save": spread(values)}
    for commit in ("autocommit", "transaction"):
        base = summary[f"off|{commit}"]["us_per_save"]["median"]
        for mode in ("on", "on_write_through"):
            entry = summary[f"{mode}|{commit}"]
            entry["overhead_us"] = entry["us_per_save"]["median"] - base
            entry["overhead_pct"] = 100 * entry["overhead_us"] / base
    say(
        "writes (us/save, median): "
        + ", ".join(f"{k} {v['us_per_save']['median']:.0f}" for k, v in summary.items())
    )
    data = {
        "config": {"rounds": rounds, "saves_per_sample": saves, "hooks_removed_for_off": removed},
        "summary": summary,
        "redis_round_trips_per_autocommit_save": trips,
        "sql_statements_of_one_autocommit_save": statements,
        "samples_us_per_save": samples,
    }
    bench.save("writes", data)
    return data
