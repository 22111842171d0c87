"""Probes of ``LocalHitMiddleware`` that held in the second adversarial pass (each
should pass)."""

from __future__ import annotations

import gzip
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from django_smartcache import invalidate_all
from django_smartcache.operations.admin import purge_for
from tests.adversarial_replay2.common import replaying, skipped, stack, warm

pytestmark = [pytest.mark.not_on_cluster, pytest.mark.django_db]

PROBES = "tests.adversarial_replay2.probes_views"


def test_probe_gzip_below_answers_stay_per_accept_encoding(clean, shop):
    """GZipMiddleware below (and vary_on_headers outside the page): visitors with and
    without gzip each get their own answer, however often they ask (the page is never
    answered from memory: gzip changes the body, and the URL resolves to the decorator)."""
    gz = stack(before_session=("django.middleware.gzip.GZipMiddleware",))
    with replaying(gz, urlconf=PROBES):
        for _ in range(6):
            plain, was_skipped = skipped(Client(), "/vary-outside/")
            assert "Content-Encoding" not in plain and not was_skipped
            zipped = Client().get("/vary-outside/", HTTP_ACCEPT_ENCODING="gzip")
            assert zipped["Content-Encoding"] == "gzip"
            assert gzip.decompress(zipped.content) == b"x" * 400


def test_probe_conditional_get_below_gives_304_and_200(clean, shop):
    cond = stack(before_session=("django.middleware.http.ConditionalGetMiddleware",))
    with replaying(cond):
        first = warm(Client(), "/catalog/")
        etag = first["ETag"]
        for _ in range(5):
            assert Client().get("/catalog/", HTTP_IF_NONE_MATCH=etag).status_code == 304
        assert Client().get("/catalog/").status_code == 200


def test_probe_transport_headers_with_vary_outside(clean, shop):
    with replaying(urlconf=PROBES):
        for _ in range(6):
            assert not skipped(Client(), "/vary-outside/", HTTP_ACCEPT_ENCODING="br")[1]
        assert not skipped(Client(), "/vary-outside/", HTTP_ACCEPT_ENCODING="gzip")[1]
        assert not skipped(Client(), "/vary-outside/")[1]


@pytest.mark.parametrize("how", ["invalidate_all", "admin_purge_all", "admin_purge_url"])
def test_probe_global_and_admin_purges(clean, shop, how, django_capture_on_commit_callbacks):
    with replaying():
        client = Client()
        warm(client, "/catalog/")
        with django_capture_on_commit_callbacks(execute=True):
            if how == "invalidate_all":
                invalidate_all()
            elif how == "admin_purge_all":
                purge_for("all", {}).run()
            else:
                purge_for("url", {"url": "https://testserver/catalog/?x=1"}).run()
        assert not skipped(client, "/catalog/")[1], how


def test_probe_cache_authenticated_user_never_gets_the_anonymous_answer(clean, shop):
    user = User.objects.create_user("alice", password="pw")
    with replaying(urlconf=PROBES, smartcache={"CACHE_AUTHENTICATED": True}):
        warm(Client(), "/who/")
        alice = Client()
        alice.force_login(user)
        for _ in range(4):
            assert alice.get("/who/").content == b"user=alice"


@pytest.mark.django_db(transaction=True)
def test_probe_write_racing_the_answer_in_threads(clean, shop):
    """Writers in other threads commit while this thread answers: once a writer's
    commit returned, the next answer shows it."""
    from django.db import connection

    from tests.testapp.models import Product

    with replaying():
        client = Client()
        warm(client, "/catalog/")
        for n in range(1, 8):
            barrier = threading.Barrier(2)
            done = threading.Event()

            def write(price=n, barrier=barrier, done=done):
                barrier.wait()
                Product.objects.filter(slug="laptop").update(price=Decimal(price))
                done.set()
                connection.close()

            thread = threading.Thread(target=write)
            thread.start()
            barrier.wait()
            while not done.is_set():
                client.get("/catalog/")
            thread.join()
            assert f"Laptop={n}.00".encode() in client.get("/catalog/").content, n
            warm(client, "/catalog/")
