"""Section ``capture``: what dependency capture adds to a miss of the demo's product page.

In process (Django's test client, the full middleware stack, MariaDB and Redis), the product
page ``/products/laptop/`` is made stale before each request with ``invalidate_url`` (its own
URL tag: the view runs again, while its fragments and the object cache stay warm, as after a
write that touched the page only), then requested; only the request is timed. Two modes, in
interleaved rounds of ``requests`` misses each: ``SMARTCACHE["AUTO_DEPENDENCIES"]`` on (the
default) and off. The overhead is the median of the per-round differences (both modes run
seconds apart, under the same load). A hit runs no query, so capture costs it nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from .common import PAGE, Run, say, spread
from .writes import paired_overhead

MODES = {"capture_on": True, "capture_off": False}


def _misses(client: Any, requests: int) -> float:
    from django_smartcache import invalidate_url

    spent = 0.0
    for _ in range(requests):
        invalidate_url(PAGE)
        start = time.perf_counter()
        response = client.get(PAGE)
        spent += time.perf_counter() - start
        if response["X-Smartcache"] != "MISS":
            raise RuntimeError(f"{PAGE} answered {response['X-Smartcache']}, not MISS")
    return spent / requests * 1e6


def run(bench: Run, *, rounds: int, requests: int) -> dict[str, Any]:
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    client = Client(HTTP_HOST="127.0.0.1")
    samples: dict[str, list[float]] = defaultdict(list)
    captured: dict[str, list[str]] = {}
    for mode, on in MODES.items():  # warm: connections, fragments, object cache, plans
        with override_settings(SMARTCACHE={**settings.SMARTCACHE, "AUTO_DEPENDENCIES": on}):
            _misses(client, 20)
            captured[mode] = _captured_tags(client)
    for _ in range(rounds):
        for mode, on in MODES.items():
            with override_settings(SMARTCACHE={**settings.SMARTCACHE, "AUTO_DEPENDENCIES": on}):
                samples[mode].append(_misses(client, requests))
    off, on = samples["capture_off"], samples["capture_on"]
    base = sorted(off)[len(off) // 2]
    summary = {
        "us_per_miss": {mode: spread(values) for mode, values in samples.items()},
        **paired_overhead(off, on, base),
    }
    say(
        f"capture: product page miss {sorted(on)[len(on) // 2]:.0f} µs with capture, "
        f"{base:.0f} µs without ({summary['overhead_pct']:+.1f} %)"
    )
    data = {
        "config": {"page": PAGE, "rounds": rounds, "misses_per_round": requests},
        "summary": summary,
        "dependencies_stored": captured,
        "samples_us": dict(samples),
    }
    bench.save("capture", data)
    return data


def _captured_tags(client: Any) -> list[str]:
    """The run-time dependencies the page's entry was stored with (one more miss)."""
    from django_smartcache import invalidate_url
    from django_smartcache.core import engine

    seen: list[str] = []
    original = engine.Fill.save

    def spy(self: Any, key: str, value: Any, timeout: Any) -> bool:
        seen.extend(self.discovered)
        return original(self, key, value, timeout)

    engine.Fill.save = spy  # this process, this one request; put back at once
    try:
        invalidate_url(PAGE)
        client.get(PAGE)
    finally:
        engine.Fill.save = original
    return sorted(set(seen))


def target(data: dict[str, Any]) -> tuple[str, str, Any, bool]:
    pct = data["summary"]["overhead_pct"]
    return ("product page miss, capture on vs off", "<= +5 %", f"{pct:+.1f} %", pct <= 5.0)


def report_line(data: dict[str, Any]) -> str:
    s = data["summary"]
    on, off = s["us_per_miss"]["capture_on"]["median"], s["us_per_miss"]["capture_off"]["median"]
    return (
        "| Product page miss in process, dependency capture on (off) | "
        f"{on:.0f} µs ({off:.0f} µs): {s['overhead_pct']:+.1f} % | - |"
    )
