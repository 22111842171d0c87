"""A second app server for ``tests/test_leases.py`` that dies right after a commit.

``python -m tests.lease_writer '<json>'`` sets up Django on the test database
(``database``) and the test settings' cache (the same environment), connects to the
cache, waits until it holds a writer lease and prints ``ready``. When a line arrives on
its stdin it commits one autocommit ``save()`` of the laptop's price (``price``) and
exits with ``os._exit`` before the bump: no bump, no ``atexit``, its lease row left
behind, as when a worker is killed between the commit and the bump. Before dying it
prints one JSON line: whether the write was covered by the lease, and the outbox rows
it left.
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

    from django_smartcache.invalidation import autocommit, dbwrites, leases
    from django_smartcache.models import PendingInvalidation
    from tests.testapp.models import Product

    laptop = Product.objects.get(slug="laptop")
    caches["default"].get("lease-writer")  # connected (and the server's identity known)
    ready = leases.wait_until_valid("default")
    print("ready", flush=True)
    sys.stdin.readline()
    covers: list[object] = []

    def crash(tags, connection, row):  # the process dies here: after COMMIT, before the bump
        covers.append(row)

    dbwrites.bump_written = crash
    laptop.price = Decimal(config["price"])
    laptop.save()
    print(
        json.dumps(
            {
                "lease_ready": ready,
                "leased": covers == [autocommit.LEASED],
                "outbox_rows": PendingInvalidation.objects.count(),
            }
        ),
        flush=True,
    )
    os._exit(0)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
