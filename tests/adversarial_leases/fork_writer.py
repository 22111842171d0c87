"""A preloading master (gunicorn ``--preload``) that holds a writer lease, then forks a
worker which commits one autocommit ``save()`` and dies before its bump.

``python -m tests.adversarial_leases.fork_writer '<json>'``: sets up Django on the test
database (``database``), waits for a lease, prints ``ready``; on a line from stdin it
forks. The child drops the connections it inherited (without closing them: they are the
parent's sockets), saves the laptop's price (``price``) with its bump suppressed, prints
one JSON line (how the write was covered) and ``os._exit``s. The parent stays alive,
renewing its own lease, until its stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal


def main(config: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = config["database"]
    import django

    django.setup()
    from django.core.cache import caches
    from django.db import connections

    from django_smartcache.invalidation import autocommit, dbwrites, leases
    from tests.testapp.models import Product

    caches["default"].get("fork-writer")
    laptop = Product.objects.get(slug="laptop")
    print("ready" if leases.wait_until_valid("default") else "no lease", flush=True)
    sys.stdin.readline()
    pid = os.fork()
    if pid == 0:
        for conn in connections.all(initialized_only=True):
            conn.connection = None  # the parent's socket: not ours to use or close
        covers = []
        dbwrites.bump_written = lambda tags, connection, row: covers.append(row)
        laptop.price = Decimal(config["price"])
        laptop.save()
        kind = "leased" if covers == [autocommit.LEASED] else "row" if covers[0] else "none"
        print(json.dumps({"cover": kind, "pid": os.getpid()}), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    print(json.dumps({"parent": os.getpid()}), flush=True)
    sys.stdin.readline()  # alive (and renewing) until the test is done


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
