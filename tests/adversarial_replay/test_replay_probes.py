"""Probes of ``LocalHitMiddleware`` guarantees that held (each should pass)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
import redis
from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.test import AsyncClient, Client

from django_smartcache import invalidate_url
from django_smartcache.core.breaker import breaker
from django_smartcache.stores.factory import get_store
from tests.adversarial_replay.test_replay_holes import (
    BELOW,
    _replaying,
    _skipped,
    _warm,
)
from tests.helpers import status

pytestmark = [pytest.mark.not_on_cluster, pytest.mark.django_db]


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_COOKIE": " "},
        {"HTTP_COOKIE": ";"},
        {"HTTP_COOKIE": "sessionid=x"},
        {"HTTP_AUTHORIZATION": " "},
        {"AUTH_TYPE": "Negotiate"},
        {"SSL_CLIENT_VERIFY": "SUCCESS"},
        {"HTTP_X_API_KEY": "k"},
        {"HTTP_ACCEPT_LANGUAGE": "de"},
        {"HTTP_X_FORWARDED_PROTO": "https"},
        {"SCRIPT_NAME": "/mount"},
        {"wsgi.url_scheme": "https"},
        {"SERVER_PORT": "8443"},
    ],
)
def test_probe_identifying_or_different_requests_are_not_replayed(clean, shop, extra):
    with _replaying():
        _warm(Client(), "/catalog/")
        for _ in range(4):
            _response, skipped = _skipped(Client(), "/catalog/", **extra)
            if "COOKIE" in str(extra) or "AUTH" in str(extra) or "SSL" in str(extra):
                assert not skipped, extra


def test_probe_head_options_and_trailing_slash_go_through(clean, shop):
    with _replaying(), pytest.MonkeyPatch.context():
        client = Client()
        _warm(client, "/catalog/")
        for call in (client.head, client.options):
            seen = len(BELOW)
            call("/catalog/")
            assert len(BELOW) == seen + 1
        assert client.get("/catalog").status_code == 301


@pytest.mark.parametrize(
    "write",
    [
        "save",
        "update",
        "delete",
        "bulk_create",
        "bulk_update",
        "m2m",
        "raw_cursor",
        "atomic",
    ],
)
def test_probe_committed_writes_stop_the_answer(
    clean, shop, write, django_capture_on_commit_callbacks
):
    from tests.testapp.models import Product, Tag

    with _replaying():
        client = Client()
        _warm(client, "/catalog/")
        laptop = shop["laptop"]
        with django_capture_on_commit_callbacks(execute=True):
            if write == "save":
                laptop.price = Decimal("1.00")
                laptop.save()
            elif write == "update":
                Product.objects.filter(pk=laptop.pk).update(price=Decimal("1.00"))
            elif write == "delete":
                laptop.delete()
            elif write == "bulk_create":
                Product.objects.bulk_create(
                    [Product(name="Z", slug="z", price=1, category=shop["category"])]
                )
            elif write == "bulk_update":
                laptop.price = Decimal("1.00")
                Product.objects.bulk_update([laptop], ["price"])
            elif write == "m2m":
                laptop.tags.add(Tag.objects.create(name="t"))
            elif write == "raw_cursor":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "UPDATE testapp_product SET price = 1 WHERE id = %s", [laptop.pk]
                    )
            elif write == "atomic":
                with transaction.atomic():
                    Product.objects.filter(pk=laptop.pk).update(price=Decimal("1.00"))
                    # not committed yet: the old answer may still be given
                    client.get("/catalog/")
        _response, skipped = _skipped(client, "/catalog/")
        assert not skipped, write


def test_probe_invalidate_url_breaker_flush_max_age(clean, shop):
    with _replaying(local_conf={"MAX_AGE": 1}):
        client = Client()
        _warm(client, "/catalog/")
        invalidate_url("/catalog/")
        assert not _skipped(client, "/catalog/")[1], "invalidate_url"
        _warm(client, "/catalog/")
        breaker("default").failed(redis.ConnectionError("down"), "test")
        assert not _skipped(client, "/catalog/")[1], "breaker open"
        breaker("default").__init__("default")
        _warm(client, "/catalog/")
        server = redis.Redis.from_url(get_store().cache.client._server[0])
        server.flushdb()
        time.sleep(0.05)
        assert not _skipped(client, "/catalog/")[1], "flushdb"
        _warm(client, "/catalog/")
        time.sleep(1.1)
        assert not _skipped(client, "/catalog/")[1], "MAX_AGE"


@pytest.mark.django_db(transaction=True)
def test_probe_manual_commit_without_autocommit_back_on(clean, shop):
    from tests.testapp.models import Product

    with _replaying():
        client = Client()
        _warm(client, "/catalog/")
        transaction.set_autocommit(False)
        try:
            Product.objects.filter(slug="laptop").update(price=Decimal("3.00"))
            transaction.commit()
            response = client.get("/catalog/")
            assert b"Laptop=3.00" in response.content
        finally:
            # The request's reads opened a transaction (PostgreSQL will not switch
            # autocommit back inside one).
            transaction.rollback()
            transaction.set_autocommit(True)


@pytest.mark.django_db(transaction=True)
def test_probe_a_write_in_another_thread(clean, shop):
    from tests.testapp.models import Product

    with _replaying():
        client = Client()
        _warm(client, "/catalog/")

        def write():
            Product.objects.filter(slug="laptop").update(price=Decimal("5.00"))
            connection.close()

        thread = threading.Thread(target=write)
        thread.start()
        thread.join()
        response = client.get("/catalog/")
        assert b"Laptop=5.00" in response.content


def test_probe_asgi_requests_and_stats(clean, shop, django_capture_on_commit_callbacks):
    from django_smartcache.core import stats
    from tests.testapp.models import Product

    with _replaying():
        client = AsyncClient()
        for _ in range(6):
            async_to_sync(client.get)("/catalog/")
        seen = len(BELOW)
        response = async_to_sync(client.get)("/catalog/")
        assert len(BELOW) == seen and status(response) == "HIT"
        with django_capture_on_commit_callbacks(execute=True):
            Product.objects.filter(slug="laptop").update(price=Decimal("7.00"))
        assert b"Laptop=7.00" in async_to_sync(client.get)("/catalog/").content
        assert stats is not None


def test_probe_status_pages(clean, shop):
    with _replaying():
        client = Client()
        for code in (404, 301):
            for _ in range(6):
                response = client.get(f"/status/{code}/")
            assert response.status_code == code
