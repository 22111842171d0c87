"""Hit path in process: what one request costs each variant without HTTP, gunicorn or wrk.

The same four URLs as the throughput section, called through Django's test client in this
process (full middleware stack, no sockets but Redis's), interleaved over rounds; and the floor
of one Redis round trip from redis-py on this machine (PING, and a GET of a page-sized value).
This separates the cache's own cost from the HTTP server's and shows where a hit's time goes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from .common import SLUG, VARIANTS, Run, ratio, say, spread


def _per_call_us(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def _csrf_refill(rounds: int, requests: int) -> dict[str, Any]:
    """A HIT of the product page with a form (token refilled per visitor) vs without one.

    ``with_form``: each request a new visitor (no cookies), the worst case, where the hit
    also makes the visitor's CSRF secret and the middleware sets its cookie, as Django would.
    ``with_form_returning``: one visitor who already holds the CSRF cookie.
    """
    from django.test import Client

    paths = {
        "without_form": f"/bench/csrf/without-form/{SLUG}/",
        "with_form": f"/bench/csrf/with-form/{SLUG}/",
    }
    samples: dict[str, list[float]] = defaultdict(list)
    for path in paths.values():
        for _ in range(3):
            assert Client(HTTP_HOST="127.0.0.1").get(path).status_code == 200
        assert Client(HTTP_HOST="127.0.0.1").get(path)["X-Smartcache"] == "HIT"
    returning = Client(HTTP_HOST="127.0.0.1")
    returning.get(paths["with_form"])
    for _ in range(rounds):
        for name, path in paths.items():
            samples[name].append(
                _per_call_us(lambda p=path: Client(HTTP_HOST="127.0.0.1").get(p), requests)
            )
        samples["with_form_returning"].append(
            _per_call_us(lambda: returning.get(paths["with_form"]), requests)
        )
        # The same client reused without a form, for a like-for-like returning visitor.
        samples["without_form_returning"].append(
            _per_call_us(lambda: returning.get(paths["without_form"]), requests)
        )
    summary = {name: spread(values) for name, values in samples.items()}
    med = {name: s["median"] for name, s in summary.items()}
    return {
        **summary,
        "added_us": med["with_form"] - med["without_form"],
        "added_returning_us": med["with_form_returning"] - med["without_form_returning"],
        "samples_us": samples,
    }


def run(bench: Run, *, rounds: int, requests: int) -> dict[str, Any]:
    from django.core.cache import caches
    from django.test import Client
    from django_redis import get_redis_connection

    client = Client(HTTP_HOST="127.0.0.1")
    for _name, (_label, path) in VARIANTS.items():
        for _ in range(20):
            assert client.get(path).status_code == 200
    assert client.get(VARIANTS["smartcache"][1])["X-Smartcache"] == "HIT"

    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for name, (_label, path) in VARIANTS.items():
            n = requests if name != "uncached" else max(20, requests // 10)
            samples[name].append(_per_call_us(lambda p=path: client.get(p), n))

    csrf = _csrf_refill(rounds, requests)

    redis = get_redis_connection("default")
    page = b"x" * len(client.get(VARIANTS["constant"][1]).content)
    redis.set("bench:hitpath:page", page, ex=60)
    django_cache = caches["django"]
    django_cache.set("bench:hitpath:page", page, 60)
    floors: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        floors["redis_ping"].append(_per_call_us(redis.ping, requests))
        floors["redis_get_page_sized"].append(
            _per_call_us(lambda: redis.get("bench:hitpath:page"), requests)
        )
        floors["django_cache_get_page_sized"].append(
            _per_call_us(lambda: django_cache.get("bench:hitpath:page"), requests)
        )
    redis.delete("bench:hitpath:page")
    django_cache.delete("bench:hitpath:page")

    summary = {name: spread(values) for name, values in samples.items()}
    med = {name: s["median"] for name, s in summary.items()}
    for name in summary:
        summary[name]["added_over_constant_us"] = (
            med[name] - med["constant"] if med.get("constant") is not None else None
        )
        summary[name]["vs_django"] = ratio(med["django"], med[name])  # throughput-like ratio
        summary[name]["vs_ceiling"] = ratio(med["constant"], med[name])
    # One GET inside a request costs far more than in a tight loop of GETs (the worker and Redis
    # go idle in between and must be woken): the one-GET view minus the constant view says how
    # much, on this machine.
    in_request = {
        "median": med["one_get"] - med["constant"],
        "fastest_rounds": min(samples["one_get"]) - min(samples["constant"]),
    }
    data = {
        "config": {"rounds": rounds, "requests_per_sample": requests, "client": "django.test"},
        "one_round_trip_inside_a_request_us": in_request,
        "us_per_request": summary,
        "redis_floor_us": {name: spread(values) for name, values in floors.items()},
        "csrf_refill_us": csrf,
        "samples_us": samples,
        "floor_samples_us": floors,
    }
    say(
        "hit path (in process, us/request): "
        + ", ".join(f"{k} {v['median']:.0f}" for k, v in summary.items())
        + f"; Redis PING round trip {spread(floors['redis_ping'])['median']:.0f}"
        + f"; a hit that refills a CSRF token costs {csrf['added_us']:.0f} us more for a new "
        + f"visitor, {csrf['added_returning_us']:.0f} us for one with the CSRF cookie"
    )
    bench.save("hitpath", data)
    return data
