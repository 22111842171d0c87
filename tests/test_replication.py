"""``WAIT_REPLICAS``: a bump counts as landed only once replicas acknowledged it."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import redis
from django.db import connections
from django.test import Client, override_settings

from django_smartcache.invalidation import backlog
from django_smartcache.models import PendingInvalidation
from tests.helpers import status
from tests.redis_servers import RedisServer, cache_at
from tests.testapp.models import Product

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_outbox"),
    pytest.mark.not_on_cluster,  # standalone servers of their own; see test_cluster.py
]


@pytest.fixture
def replica(redis_server, tmp_path):
    """A replica of ``redis_server``, in sync before the test goes on."""
    server = RedisServer(redis_server.executable, str(tmp_path / "replica"))
    (tmp_path / "replica").mkdir()
    server.start("--replicaof", "127.0.0.1", str(redis_server.port))
    client = redis.Redis(port=server.port)
    deadline = time.monotonic() + 10
    while client.info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica never synced"
        time.sleep(0.05)
    client.close()
    try:
        yield server
    finally:
        server.kill()


def _laptop_costs(price: str) -> None:
    laptop = Product.objects.get(slug="laptop")
    laptop.price = Decimal(price)
    laptop.save()


WAIT_ONE = {"WAIT_REPLICAS": 1, "WAIT_TIMEOUT": 0.2, "ERROR_BACKOFF": 0, "ERROR_BACKOFF_MAX": 0}


def test_a_bump_acknowledged_by_a_replica_lands(redis_server, replica, shop):
    with cache_at(redis_server.url), override_settings(SMARTCACHE=WAIT_ONE):
        client = Client()
        client.get("/products/laptop/")
        _laptop_costs("5.00")
        response = client.get("/products/laptop/")
        assert (status(response), response.content) == ("MISS", b"Laptop=5.00")
        backlog.tidy(connections["default"])  # acknowledged rows are deleted in batches
        assert PendingInvalidation.objects.count() == 0


def test_a_bump_no_replica_acknowledged_stays_pending_and_nothing_old_is_served(redis_server, shop):
    with cache_at(redis_server.url), override_settings(SMARTCACHE=WAIT_ONE):
        client = Client()
        client.get("/products/laptop/")
        _laptop_costs("5.00")
        assert PendingInvalidation.objects.count() == 1, "the unreplicated bump was dropped"
        response = client.get("/products/laptop/")
        assert response.content == b"Laptop=5.00", "the old page was served"
        assert status(response) != "HIT"
