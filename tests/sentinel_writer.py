"""The writer of ``tests/test_sentinel.py``, as a thread of the test or as a process of its own.

``write_prices`` commits a new laptop price every ``every`` seconds (autocommit ``save()``)
until ``stop`` is set, and records, for each commit, when ``save()`` returned and whether its
bump had landed by then (nothing pending for the cache in this process).

Run as ``python -m tests.sentinel_writer '<json>'`` it is another app server: its own Django,
connection pools and pending bumps, the database the test uses (``database``, the test
database's name) and the cache through ``sentinels``. It commits until its stdin closes, then
prints one JSON line per commit: ``[returned, price, landed]`` (``time.monotonic()``, which is
system-wide on Linux, so the test can compare it with its own reads).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from decimal import Decimal


def write_prices(stop: threading.Event, every: float) -> list[tuple[float, Decimal, bool]]:
    from django.db import connection

    from django_smartcache.invalidation import sending
    from tests.testapp.models import Product

    commits = []
    try:
        laptop = Product.objects.get(slug="laptop")
        price = Decimal("1000.00")
        while not stop.is_set():
            started = time.monotonic()
            price += 1
            laptop.price = price
            laptop.save()
            landed = "default" not in sending._pending
            commits.append((time.monotonic(), price, landed))
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    finally:
        connection.close()
    return commits


def main(config: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = config["database"]
    settings.CACHES["default"] = config["cache"]
    settings.SMARTCACHE = config["smartcache"]
    import django

    django.setup()
    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    for returned, price, landed in write_prices(stop, config["every"]):
        print(json.dumps([returned, str(price), landed]))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
