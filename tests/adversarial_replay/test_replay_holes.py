"""Adversarial tests of ``LocalHitMiddleware`` (answers repeated anonymous requests from
memory, skipping the stack below). ``test_hole_*`` fail while the hole is open;
``test_probe_*`` are guarantees that held."""

from __future__ import annotations

import sys
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.middleware import RemoteUserMiddleware
from django.contrib.auth.models import User
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path

from django_smartcache import cache_page
from django_smartcache.frontends import replay

pytestmark = [pytest.mark.not_on_cluster, pytest.mark.django_db]

ME = "tests.adversarial_replay.test_replay_holes"
BELOW: list[str] = []


class CountingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        BELOW.append(request.path)
        return self.get_response(request)


class EnvRemoteUserMiddleware(RemoteUserMiddleware):
    """Django's documented way to authenticate from a server variable other than
    REMOTE_USER (Shibboleth, mod_auth_openidc: ``OIDC_CLAIM_email``)."""

    header = "OIDC_CLAIM_email"


class TlsClientCertMiddleware:
    """Authenticates by the client certificate of the ASGI TLS extension (Hypercorn)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tls = getattr(request, "scope", {}).get("extensions", {}).get("tls", {})
        name = tls.get("client_cert_name")
        if name:
            request.user, _ = User.objects.get_or_create(username=name)
        return self.get_response(request)


class FetchMetadataMiddleware:
    """web.dev's Resource Isolation Policy: refuse cross-site subresource requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        site = request.headers.get("Sec-Fetch-Site")
        mode = request.headers.get("Sec-Fetch-Mode")
        if site == "cross-site" and mode != "navigate":
            return HttpResponseForbidden("cross-site request refused")
        return self.get_response(request)


@cache_page(60)
def hello(request):
    user = request.user
    return HttpResponse(f"hello {user.get_username() if user.is_authenticated else 'anon'}")


@cache_page(60)
def absolute(request):
    return HttpResponse(f"canonical={request.build_absolute_uri()}")


def gated_catalog(request, code):
    """An uncached view that shows a cached page only while a row exists (the usual
    ``get_object_or_404`` before handing over to a cached view)."""
    from tests import views
    from tests.testapp.models import Sku

    get_object_or_404(Sku, code=code)
    return views.catalog(request)


urlpatterns = [
    path("hello/", hello),
    path("absolute/", absolute),
    path("gated/<str:code>/", gated_catalog),
    path("", include("tests.urls")),
]


def _stack(*extra_after_auth: str, before_session: tuple[str, ...] = ()) -> list[str]:
    return [
        "django.middleware.security.SecurityMiddleware",
        "django_smartcache.middleware.LocalHitMiddleware",
        f"{ME}.CountingMiddleware",
        *before_session,
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        *extra_after_auth,
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_smartcache.middleware.SmartcacheMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]


def _replaying(middleware=None, local_conf=None, **more):
    conf = {**getattr(settings, "SMARTCACHE", {}), "LOCAL": local_conf or {}}
    return override_settings(
        MIDDLEWARE=middleware or _stack(),
        SMARTCACHE={**conf, "KEY_PREFIX": f"ar{uuid.uuid4().hex[:8]}"},
        ROOT_URLCONF=ME,
        **more,
    )


def _skipped(client, url, **extra):
    seen = len(BELOW)
    response = client.get(url, **extra)
    return response, len(BELOW) == seen


def _warm(client, url, **extra):
    """Until the answer comes from memory (the stack below is skipped)."""
    for _ in range(6):
        response, skipped = _skipped(client, url, **extra)
        if skipped:
            return response
    raise AssertionError(f"{url} never answered from memory")


# --------------------------------------------------------------------------- holes


def test_hole_server_variable_authentication_gets_the_anonymous_page(clean, shop):
    """A visitor a RemoteUserMiddleware subclass authenticates from a server variable
    (not REMOTE_USER, not an HTTP_ header) has the same identity as an anonymous visitor:
    she gets the anonymous page and is never logged in."""
    stack = _stack(f"{ME}.EnvRemoteUserMiddleware")
    backends = ["django.contrib.auth.backends.RemoteUserBackend"]
    with _replaying(stack, AUTHENTICATION_BACKENDS=backends):
        bob = Client().get("/hello/", OIDC_CLAIM_email="bob@example.com")  # the stack
        assert bob.content == b"hello bob@example.com" and bob.cookies
        _warm(Client(), "/hello/")
        alice = Client().get("/hello/", OIDC_CLAIM_email="alice@example.com")
        assert alice.content == b"hello alice@example.com", alice.content
        assert settings.SESSION_COOKIE_NAME in alice.cookies, "alice was not logged in"


def test_hole_asgi_tls_client_certificate_gets_the_anonymous_page(clean, shop):
    """Over ASGI a client certificate comes in the scope (TLS extension), not as
    SSL_CLIENT_* in META: the certificate holder gets the anonymous visitor's page."""
    stack = _stack(f"{ME}.TlsClientCertMiddleware")
    scope = {
        "method": "GET",
        "path": "/hello/",
        "query_string": "",
        "scheme": "https",
        "server": ("127.0.0.1", "443"),
    }
    host = [(b"host", b"testserver")]
    with _replaying(stack):
        anon = AsyncClient()
        for _ in range(6):
            async_to_sync(anon.request)(**scope, headers=list(host))
        seen = len(BELOW)
        async_to_sync(anon.request)(**scope, headers=list(host))
        assert len(BELOW) == seen, "setup: anonymous answer not replayed"
        tls = {"tls": {"client_cert_name": "alice", "client_cert_chain": ["PEM"]}}
        alice = async_to_sync(AsyncClient().request)(**scope, headers=list(host), extensions=tls)
        assert alice.content == b"hello alice", alice.content


def test_hole_uncached_view_gating_a_cached_page_on_a_row(
    clean, shop, django_capture_on_commit_callbacks
):
    """A committed delete of the row an uncached view checks (get_object_or_404) before
    handing over to a cached page: the stack answers 404, the memory keeps the page."""
    from tests.testapp.models import Sku

    with _replaying():
        Sku.objects.create(code="s1", price=1)
        client = Client()
        for _ in range(6):  # the page is not the view the URL resolved to: never skipped
            assert not _skipped(client, "/gated/s1/")[1]
        with django_capture_on_commit_callbacks(execute=True):
            Sku.objects.filter(code="s1").delete()
        assert client.get("/gated/s1/").status_code == 404


def _deep_size(value) -> int:
    if isinstance(value, tuple):
        return sys.getsizeof(value) + sum(_deep_size(item) for item in value)
    return sys.getsizeof(value)


def test_hole_replay_memory_ignores_request_identity_size(clean, shop):
    """The bytes counted for an answer leave out its key: the request's headers and
    query string. Requests with large distinct headers hold far more than the cap."""
    cap = 20_000
    with _replaying(local_conf={"REPLAY_MAX_BYTES": cap}):
        client = Client()
        for n in range(40):
            junk = f"{n:04d}" + "x" * 50_000
            for _ in range(2):
                client.get("/catalog/", HTTP_X_JUNK=junk)
        with replay._answers.lock:
            held = sum(_deep_size(ident) for ident in replay._answers.items) + sum(
                len(a.content) for a in replay._answers.items.values()
            )
        assert replay.stats_of()["bytes"] <= cap
        assert held <= cap, f"answers hold {held} bytes with REPLAY_MAX_BYTES={cap}"


def test_hole_use_x_forwarded_host_changed_in_place(clean, shop):
    """ALLOWED_HOSTS changed in place is checked; USE_X_FORWARDED_HOST changed in place
    is not: the stack refuses the forwarded host (400), the memory answers 200."""
    with _replaying(ALLOWED_HOSTS=["shop.example"]):
        headers = {"HTTP_HOST": "shop.example", "HTTP_X_FORWARDED_HOST": "evil.example"}
        client = Client()
        saved = settings.USE_X_FORWARDED_HOST
        codes = []
        try:
            for _ in range(5):  # a stray push (another run's FLUSHDB) only delays the hole
                settings.USE_X_FORWARDED_HOST = saved
                _warm(client, "/catalog/", **headers)
                settings.USE_X_FORWARDED_HOST = True  # in place: no setting_changed
                response, skipped = _skipped(client, "/catalog/", **headers)
                codes.append(response.status_code)
                if skipped:
                    break
            control = client.get("/catalog/?other=1", **headers)  # the stack
            assert control.status_code == 400
            assert codes[-1] == 400, codes
        finally:
            settings.USE_X_FORWARDED_HOST = saved


def test_hole_secure_proxy_ssl_header_changed_in_place(clean, shop):
    """SECURE_PROXY_SSL_HEADER set in place: the stack now sees https (another page),
    the memory repeats the http one."""
    with _replaying():
        headers = {"HTTP_X_FORWARDED_PROTO": "https"}
        client = Client()
        first = _warm(client, "/absolute/", **headers)
        assert first.content.startswith(b"canonical=http://")
        saved = settings.SECURE_PROXY_SSL_HEADER
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        try:
            control = client.get("/absolute/?other=1", **headers)  # the stack
            assert control.content.startswith(b"canonical=https://"), control.content
            assert client.get("/absolute/", **headers).content.startswith(b"canonical=https://")
        finally:
            settings.SECURE_PROXY_SSL_HEADER = saved


def test_hole_sec_fetch_headers_are_not_transport(clean, shop):
    """Sec-Fetch-* describe who asks (a cross-site page), not the transport: a
    Fetch-Metadata isolation middleware below refuses the cross-site request, the memory
    hands it the page."""
    stack = _stack(before_session=(f"{ME}.FetchMetadataMiddleware",))
    with _replaying(stack):
        same = {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_SEC_FETCH_MODE": "cors"}
        _warm(Client(), "/catalog/", **same)
        cross = {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_SEC_FETCH_MODE": "no-cors"}
        assert Client().get("/catalog/?other=1", **cross).status_code == 403  # the stack
        assert Client().get("/catalog/", **cross).status_code == 403


class MaintenanceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return HttpResponse("down for maintenance", status=503)


def test_hole_override_settings_middleware_keeps_old_answers(clean, shop):
    """The docs: "Any setting_changed forgets every answer". Only SMARTCACHE and CACHES
    do (conf.RESET_ON): with a middleware added below by override_settings(MIDDLEWARE=...)
    the stack answers 503, the memory the page the old stack gave."""
    with _replaying():
        _warm(Client(), "/catalog/")
        with override_settings(MIDDLEWARE=_stack(f"{ME}.MaintenanceMiddleware")):
            assert Client().get("/catalog/?other=1").status_code == 503  # the stack
            assert Client().get("/catalog/").status_code == 503


def test_hole_override_settings_root_urlconf_keeps_old_answers(clean, shop):
    """override_settings(ROOT_URLCONF=...) does not forget answers either: a URL the new
    URLconf does not have (404 through the stack) is still answered with the old page."""
    with _replaying():
        _warm(Client(), "/hello/")
        with override_settings(ROOT_URLCONF="tests.urls"):
            assert Client().get("/hello/?other=1").status_code == 404  # the stack
            assert Client().get("/hello/").status_code == 404
