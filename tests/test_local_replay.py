"""``LocalHitMiddleware``: a repeated cookieless request for a hot page is answered from
memory before the middleware below it runs, and never once the page changed, for a
visitor with cookies or credentials, for another request, or when the stack below does
not answer the same twice. Needs a real Redis (the local tier needs client tracking).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import include, path

from django_smartcache.frontends import replay
from django_smartcache.stores import local
from django_smartcache.stores.factory import get_store
from tests.helpers import status

pytestmark = [pytest.mark.not_on_cluster, pytest.mark.django_db]

BELOW: list[str] = []  # paths the middleware below LocalHitMiddleware saw


class CountingMiddleware:
    """Stands for the stack below LocalHitMiddleware: records each request it sees."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        BELOW.append(request.path)
        response = self.get_response(request)
        if request.META.get("HTTP_X_TEST_REQUEST_ID"):
            response["X-Request-Id"] = uuid.uuid4().hex  # differs on every answer
        if request.META.get("HTTP_X_TEST_SET_COOKIE"):
            response.set_cookie("bucket", "b")
        return response


def wrapping(request):
    """An uncached view that hands out a cached page with data of its own added."""
    from tests import views
    from tests.testapp.models import Product

    response = views.catalog(request)
    response["X-Stock"] = str(Product.objects.count())
    return response


def appending(request):
    from tests import views
    from tests.testapp.models import Product

    response = views.catalog(request)
    response.content += f"count={Product.objects.count()}".encode()
    return response


urlpatterns = [
    path("wrapping/", wrapping),
    path("appending/", appending),
    path("", include("tests.urls")),
]


_STACK = [
    "django.middleware.security.SecurityMiddleware",
    "django_smartcache.middleware.LocalHitMiddleware",
    "tests.test_local_replay.CountingMiddleware",
    *settings.MIDDLEWARE[2:],
]


@pytest.fixture
def replaying(real_redis):
    assert settings.MIDDLEWARE[1] == "django_smartcache.middleware.LocalHitMiddleware"
    conf = {**getattr(settings, "SMARTCACHE", {}), "LOCAL": {}}
    prefix = f"lr{uuid.uuid4().hex[:8]}"  # pushes of other test runs on this server
    with override_settings(
        MIDDLEWARE=_STACK,
        SMARTCACHE={**conf, "KEY_PREFIX": prefix},
        ROOT_URLCONF="tests.test_local_replay",
    ):
        BELOW.clear()
        yield
    local.reset()
    replay.reset()


def _answered_from_memory(client: Client, url: str, **headers) -> bool:
    seen = len(BELOW)
    response = client.get(url, **headers)
    assert response.status_code == 200
    return len(BELOW) == seen


def _remembered(client: Client, url: str = "/catalog/", **headers):
    """Requests until the answer is remembered: MISS, HIT from Redis, two local HITs."""
    for _ in range(4):
        client.get(url, **headers)
    return client.get(url, **headers)


def test_a_repeated_request_for_a_hot_page_skips_the_stack_below(
    replaying, client, shop, redis_commands
):
    full = client.get("/catalog/")
    for _ in range(3):
        client.get("/catalog/")
    redis_commands.reset()
    seen = len(BELOW)
    answered = client.get("/catalog/")
    assert len(BELOW) == seen, "the stack below ran"
    assert redis_commands.count == 0, redis_commands.commands
    assert status(answered) == "HIT" and answered.content == full.content
    assert b"Laptop=999.00" in answered.content
    same = {k: v for k, v in answered.items() if k != "Age"}
    assert same == {k: v for k, v in client.get("/catalog/").items() if k != "Age"}
    assert int(answered["Age"]) >= 0
    assert replay.stats_of()["answers"] >= 1


def test_a_committed_write_is_seen_by_the_next_request(
    replaying, client, shop, django_capture_on_commit_callbacks
):
    _remembered(client)
    assert _answered_from_memory(client, "/catalog/")
    with django_capture_on_commit_callbacks(execute=True):
        shop["laptop"].price = Decimal("899.00")
        shop["laptop"].save()
    response = client.get("/catalog/")
    assert status(response) == "MISS" and b"Laptop=899.00" in response.content


def test_an_update_and_an_invalidation_are_seen_at_once(
    replaying, client, shop, django_capture_on_commit_callbacks
):
    from django_smartcache import invalidate
    from tests.testapp.models import Product

    _remembered(client)
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.filter(slug="laptop").update(price=Decimal("799.00"))
    assert b"Laptop=799.00" in client.get("/catalog/").content
    _remembered(client)
    assert _answered_from_memory(client, "/catalog/")
    with django_capture_on_commit_callbacks(execute=True):
        invalidate("testapp.Category")
    assert not _answered_from_memory(client, "/catalog/")


def test_a_bump_from_another_process_is_seen_at_once(replaying, client, shop):
    _remembered(client)
    code = (
        "import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; "
        "from django.conf import settings; settings.SMARTCACHE = {'KEY_PREFIX': sys.argv[1]}; "
        "django.setup(); from django_smartcache import invalidate; "
        "invalidate('testapp.Category')"
    )
    prefix = settings.SMARTCACHE["KEY_PREFIX"]
    subprocess.run([sys.executable, "-c", code, prefix], check=True, timeout=60)
    assert status(client.get("/catalog/")) == "MISS", "an answer outlived another process's bump"


def test_visitors_with_cookies_or_credentials_go_through_the_stack(replaying, client, shop):
    _remembered(client)
    assert _answered_from_memory(client, "/catalog/")
    user = User.objects.create_user("alice", password="pw")
    alice = Client()
    alice.force_login(user)
    for other, headers in (
        (alice, {}),
        (Client(), {"HTTP_COOKIE": "returning=1"}),
        (Client(), {"HTTP_AUTHORIZATION": "Token abc"}),
        (Client(), {"HTTP_PROXY_AUTHORIZATION": "Basic eA=="}),
        (Client(), {"REMOTE_USER": "alice"}),
        (Client(), {"SSL_CLIENT_S_DN": "CN=alice"}),
    ):
        for _ in range(4):
            assert not _answered_from_memory(other, "/catalog/", **headers), headers
    assert status(alice.get("/catalog/")) == "BYPASS"  # a logged-in user's own page


def test_another_request_is_not_the_same_request(replaying, client, shop):
    _remembered(client)
    assert _answered_from_memory(client, "/catalog/")
    for headers in (
        {"HTTP_ACCEPT_LANGUAGE": "fr"},
        {"HTTP_X_API_KEY": "k1"},
        {"HTTP_USER_AGENT": "other"},
        {"REMOTE_ADDR": "10.0.0.2"},
        {"HTTP_X_FORWARDED_FOR": "10.0.0.3"},
        {"HTTP_HOST": "localhost"},
    ):
        assert not _answered_from_memory(client, "/catalog/", **headers), headers
    assert not _answered_from_memory(client, "/catalog/?page=2")
    seen = len(BELOW)
    client.head("/catalog/")
    assert len(BELOW) == seen + 1, "HEAD was answered from memory"


def test_a_stack_that_answers_differently_each_time_is_never_skipped(replaying, client, shop):
    for _ in range(6):
        assert not _answered_from_memory(client, "/catalog/", HTTP_X_TEST_REQUEST_ID="1")


def test_a_view_that_adds_to_a_cached_page_is_never_skipped(
    replaying, client, shop, django_capture_on_commit_callbacks
):
    """The page's copy alone does not tell when such an answer changed: a header or body
    added by an uncached view wrapping it (or by a middleware below) keeps it out."""
    from tests.testapp.models import Product

    for url in ("/wrapping/", "/appending/"):
        for _ in range(6):
            assert not _answered_from_memory(client, url), url
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.create(name="Mouse", slug="mouse", price=1, category=shop["category"])
    assert client.get("/wrapping/")["X-Stock"] == "3"
    assert client.get("/appending/").content.endswith(b"count=3")
    assert replay.stats_of()["answers"] == 0


def test_an_answer_that_sets_a_cookie_is_never_remembered(replaying, client, shop):
    for _ in range(6):
        response = client.get("/catalog/", HTTP_X_TEST_SET_COOKIE="1")
        assert "bucket" in response.cookies
    assert replay.stats_of()["answers"] == 0


def test_a_refused_host_is_not_answered_from_memory(replaying, client, shop):
    _remembered(client)
    assert _answered_from_memory(client, "/catalog/")
    hosts = settings.ALLOWED_HOSTS
    saved = list(hosts)
    hosts[:] = ["example.com"]  # changed in place, no setting_changed
    try:
        assert client.get("/catalog/").status_code == 400
    finally:
        hosts[:] = saved


def test_a_lost_push_connection_stops_answers_from_memory(replaying, client, shop):
    _remembered(client)
    assert _answered_from_memory(client, "/catalog/")
    server = redis.Redis.from_url(get_store().cache.client._server[0])
    assert server.client_kill_filter(_type="pubsub") >= 1
    time.sleep(0.05)
    assert not _answered_from_memory(client, "/catalog/")


def test_off_without_the_local_tier(real_redis, client, shop):
    with override_settings(MIDDLEWARE=_STACK):
        BELOW.clear()
        for _ in range(6):
            assert not _answered_from_memory(client, "/catalog/")
    assert replay.stats_of()["answers"] == 0


def test_answers_stay_within_their_cap(real_redis, client, shop):
    conf = {**getattr(settings, "SMARTCACHE", {}), "LOCAL": {"REPLAY_MAX_BYTES": 5_000}}
    prefix = f"lr{uuid.uuid4().hex[:8]}"
    with override_settings(MIDDLEWARE=_STACK, SMARTCACHE={**conf, "KEY_PREFIX": prefix}):
        most = 0
        for n in range(60):
            for _ in range(3):
                client.get(f"/catalog/?n={n}")
            most = max(most, replay.stats_of()["bytes"])
    local.reset()
    replay.reset()
    assert 0 < most <= 5_000, most


def test_a_page_on_another_cache_is_served_as_before(replaying, client, shop):
    """A page cached on an alias without a local tier (LocMem) is neither remembered nor
    broken by the middleware."""
    for _ in range(5):
        response = client.get("/locmem/catalog/")
        assert response.status_code == 200 and b"Laptop=999.00" in response.content
    assert status(response) == "HIT"
    assert replay.stats_of()["answers"] == 0


def test_the_environ_of_apache_and_uwsgi_is_no_visitor(replaying, client, shop):
    """What mod_wsgi and uWSGI add of their own configuration identifies nobody; a server
    variable an authentication module sets does (tests/adversarial_replay)."""
    server = {
        "DOCUMENT_ROOT": "/srv",
        "SERVER_ADDR": "10.0.0.1",
        "UNIQUE_ID": "abc",
        "mod_wsgi.version": (5, 0),
        "uwsgi.version": b"2.0",
        "apache.version": (2, 4),
    }
    _remembered(client, **server)
    assert _answered_from_memory(client, "/catalog/", **server)
    assert not _answered_from_memory(client, "/catalog/", **server, AUTHENTICATE_UID="alice")
