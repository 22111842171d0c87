"""An app server that exits cleanly while a daemon thread is between a leased commit and
its bump.

``python -m tests.adversarial_leases.exit_writer '<json>'`` sets up Django on the test
database (``database``), waits until it holds a writer lease and prints ``ready``. On a
line from stdin, a daemon thread commits one leased autocommit ``save()`` of the
laptop's price (``price``) and is frozen before its bump (as a daemon thread is when the
interpreter finishes); the main thread then returns, so ``atexit`` runs (and gives up the
lease) while that bump is still owed. Prints one JSON line first: whether the write
relied on the lease.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from decimal import Decimal


def main(config: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = config["database"]
    import django

    django.setup()
    from django.core.cache import caches

    from django_smartcache.invalidation import autocommit, dbwrites, leases
    from tests.testapp.models import Product

    caches["default"].get("exit-writer")
    laptop = Product.objects.get(slug="laptop")
    print("ready" if leases.wait_until_valid("default") else "no lease", flush=True)
    sys.stdin.readline()
    committed, covers = threading.Event(), []

    def frozen(tags, connection, row):  # committed; the bump never runs
        covers.append(row)
        committed.set()
        threading.Event().wait()

    dbwrites.bump_written = frozen

    def write():
        laptop.price = Decimal(config["price"])
        laptop.save()

    threading.Thread(target=write, daemon=True).start()
    committed.wait(10)
    print(json.dumps({"leased": covers == [autocommit.LEASED]}), flush=True)
    # returns: atexit runs while the daemon thread still owes its bump


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
