"""Bumps go through a connection each thread keeps: given back when the thread ends, and
replaced at once when the server closed it (no pending bump, no breaker opened)."""

from __future__ import annotations

import gc
import threading

import pytest
import redis

from django_smartcache import invalidate
from django_smartcache.invalidation import sending
from django_smartcache.stores.factory import get_store
from tests.helpers import status
from tests.testapp.models import Product

# The single-Redis store's kept bump connections (the cluster store keeps none).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.not_on_cluster]


def _pool():
    return get_store("default")._script("BUMP").registered_client.connection_pool


def test_threads_that_bump_give_their_connection_back():
    invalidate(Product)  # this thread's own
    in_use = len(_pool()._in_use_connections)
    threads = [threading.Thread(target=invalidate, args=(Product,)) for _ in range(20)]
    for thread in threads:
        thread.start()
        thread.join()
    gc.collect()
    invalidate(Product)  # given back by the next bump
    assert len(_pool()._in_use_connections) == in_use, "one per live thread, none leaked"


def test_a_bump_connection_the_server_closed_is_replaced_at_once(client, shop, real_redis):
    client.get("/catalog/")
    assert status(client.get("/catalog/")) == "HIT"
    invalidate("warm-up")  # this thread now holds its bump connection
    held = get_store("default")._held.it.conn
    held.send_command("CLIENT", "ID")
    own_id = held.read_response()
    admin = redis.Redis.from_url(real_redis)
    try:
        assert admin.client_kill_filter(_id=own_id) == 1
    finally:
        admin.close()
    product = shop["laptop"]
    product.price = 5
    product.save()  # the dead connection fails: the bump is sent again on a new one
    assert "default" not in sending._pending, "landed: nothing pending, no outage"
    response = client.get("/catalog/")
    assert (status(response), response.content) == ("MISS", b"Laptop=5.00, Phone=499.00")
    now = get_store("default")._held.it.conn
    now.send_command("CLIENT", "ID")
    assert now.read_response() != own_id
