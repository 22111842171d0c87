"""An app server killed while its leased autocommit write waits on the server.

``python -m tests.adversarial_leases.orphan_writer '<json>'`` sets up Django on the test
database (``database``), connects to the cache, waits until it holds a writer lease and
prints ``ready``. When a line arrives on its stdin it prints ``writing`` and sends one
autocommit ``UPDATE`` of the laptop's price (``price``), relying on its lease; the test
holds a lock on that row, so the statement waits there until the test kills this
process (SIGKILL, as a gunicorn worker timeout does). The server still holds the
statement, which commits when the lock is released, long after the lease stopped.
"""

from __future__ import annotations

import json
import os
import sys


def main(config: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = config["database"]
    import django

    django.setup()
    from django.core.cache import caches

    from django_smartcache.invalidation import leases
    from tests.testapp.models import Product

    caches["default"].get("orphan-writer")  # connected (and the server's identity known)
    Product.objects.filter(slug="laptop").exists()  # the connection is open before "go"
    print("ready" if leases.wait_until_valid("default") else "no lease", flush=True)
    sys.stdin.readline()
    assert leases.valid("default") is not None
    print("writing", flush=True)
    Product.objects.filter(slug="laptop").update(price=config["price"])
    print("returned", flush=True)  # not reached: killed while the statement waits


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
