"""A Redis that is not the one that acknowledged the bumps makes every entry stale.

Against a ``redis-server`` the test starts itself, with RDB persistence: a snapshot is
taken, a write commits (its bump acknowledged), the server is killed and restarts
from the snapshot, whose tokens and entries predate the bump.
"""

from __future__ import annotations

import os
import threading
from decimal import Decimal

import pytest
import redis
from django.db import connection
from django.test import Client

from django_smartcache.invalidation import sending
from tests.helpers import status
from tests.redis_servers import cache_at
from tests.testapp.models import Product

# A standalone server restarted (its own process); the cluster run has test_cluster.py.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.not_on_cluster]

URLS = ["/catalog/", "/products/laptop/"]


def read_everything(rounds: int = 3, threads: int = 6) -> list:
    """Every URL, ``rounds`` times, from ``threads`` visitors at once (like new workers)."""
    out: list = []
    lock = threading.Lock()

    def one() -> None:
        client = Client()
        try:
            for _ in range(rounds):
                for url in URLS:
                    response = client.get(url)
                    with lock:
                        out.append(response)
        finally:
            connection.close()

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)
    return out


def _laptop_costs(price: str) -> None:
    laptop = Product.objects.get(slug="laptop")
    laptop.price = Decimal(price)
    laptop.save()


@pytest.mark.parametrize("how", ["restart from a snapshot", "FLUSHALL", "empty restart"])
def test_no_old_entry_is_served_after_redis_comes_back_older(redis_server, shop, how):
    with cache_at(redis_server.url):
        client = Client()
        for url in URLS:
            client.get(url)
            assert status(client.get(url)) == "HIT"
        redis_server.snapshot()  # tokens and entries as they are now
        _laptop_costs("5.00")  # committed; its bump acknowledged by Redis
        assert b"5.00" in client.get("/products/laptop/").content
        if how == "FLUSHALL":
            redis.Redis(port=redis_server.port).flushall()
        else:
            redis_server.kill()
            if how == "empty restart":
                os.remove(os.path.join(redis_server.workdir, "dump.rdb"))
            redis_server.start()
        sending._pending.clear()  # nothing left to retry: only the check can help
        responses = read_everything()
    stale = [r for r in responses if b"Laptop=999.00" in r.content]
    print(f"\n{how}: {len(responses)} responses, stale: {len(stale)}")
    assert all(r.status_code == 200 for r in responses)
    assert all(b"Laptop=5.00" in r.content for r in responses), (
        f"{how}: {len(stale)} of {len(responses)} responses were served as they were before "
        "the acknowledged change"
    )
