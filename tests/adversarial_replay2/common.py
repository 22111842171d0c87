"""Shared helpers of the second LocalHitMiddleware adversarial pass."""

from __future__ import annotations

import functools
import uuid

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.test import override_settings
from django.urls import include, path
from django.utils import translation

from django_smartcache import cache_page
from tests.adversarial_replay.test_replay_holes import BELOW, CountingMiddleware
from tests.adversarial_replay.test_replay_holes import _skipped as skipped
from tests.adversarial_replay.test_replay_holes import _warm as warm

__all__ = ["BELOW", "CountingMiddleware", "skipped", "warm"]  # shared with the first pass

ME = "tests.adversarial_replay2.common"


def require_listed_sku(view):
    """A gate decorator written the usual way (functools.wraps): 404 unless the row
    named in the URL exists, then the cached page."""

    @functools.wraps(view)
    def gated(request, code):
        from tests.testapp.models import Sku

        get_object_or_404(Sku, code=code)
        return view(request, code)

    return gated


@require_listed_sku
@cache_page(60, depends_on=["testapp.Product"])
def sku_page(request, code):
    return HttpResponse(f"sku page {code}")


@cache_page(60)
def hello(request):
    user = request.user
    return HttpResponse(f"hello {user.get_username() if user.is_authenticated else 'anon'}")


@cache_page(60)
def lang(request):
    return HttpResponse(f"language={translation.get_language()}")


urlpatterns = [
    path("sku/<str:code>/", sku_page),
    path("hello/", hello),
    path("lang/", lang),
    path("", include("tests.urls")),
]


def stack(*extra_after_auth: str, before_session: tuple[str, ...] = (), after_common=()):
    return [
        "django.middleware.security.SecurityMiddleware",
        "django_smartcache.middleware.LocalHitMiddleware",
        f"{ME}.CountingMiddleware",
        *before_session,
        "django.contrib.sessions.middleware.SessionMiddleware",
        *after_common,
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        *extra_after_auth,
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_smartcache.middleware.SmartcacheMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]


def replaying(middleware=None, local_conf=None, urlconf=ME, smartcache=None, **more):
    conf = {**getattr(settings, "SMARTCACHE", {}), "LOCAL": local_conf or {}, **(smartcache or {})}
    return override_settings(
        MIDDLEWARE=middleware or stack(),
        SMARTCACHE={**conf, "KEY_PREFIX": f"ar2{uuid.uuid4().hex[:8]}"},
        ROOT_URLCONF=urlconf,
        **more,
    )


class HeaderSessionMiddleware:
    """An API's session sent in a header (``X-Session``), not a cookie: the session of a
    logged-in user, loaded after SessionMiddleware (found in the second pass)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get("HTTP_X_SESSION")
        if key:
            from importlib import import_module

            engine = import_module(settings.SESSION_ENGINE)
            request.session = engine.SessionStore(session_key=key)
        return self.get_response(request)
