"""Per-process state follows ``override_settings``, as users' own tests rely on."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from django_smartcache.core.breaker import breaker
from tests.helpers import DOWN_CACHE, status

pytestmark = pytest.mark.django_db


def test_an_override_to_an_unreachable_cache_leaves_no_open_breaker_behind(shop):
    client = Client()
    with override_settings(CACHES={**settings.CACHES, "default": DOWN_CACHE}):
        assert status(client.get("/catalog/")) == "BYPASS"
        assert breaker("default").snapshot()["open"], "the unreachable cache did not open it"
    assert not breaker("default").snapshot()["open"], "the breaker outlived the override"
    assert status(client.get("/catalog/")) == "MISS"
    assert status(client.get("/catalog/")) == "HIT"


def test_an_override_of_smartcache_settings_applies_at_once_and_ends_with_it(shop):
    client = Client()
    client.get("/catalog/")
    with override_settings(SMARTCACHE={"ENABLED": False}):
        assert status(client.get("/catalog/")) == "BYPASS"
    assert status(client.get("/catalog/")) == "HIT"


def test_django_settings_read_on_every_request_follow_override_settings(client, shop):
    """The hit path memoizes a few Django settings (``conf.from_django_settings``); any
    setting change clears them, so a user's ``override_settings`` takes effect at once."""
    from django_smartcache.core import privacy
    from django_smartcache.frontends import http

    before = http._django()
    with override_settings(USE_TZ=not before[1], SESSION_COOKIE_NAME="other_session"):
        assert http._django()[1:] == (not before[1], "other_session")
    with override_settings(CSRF_COOKIE_NAME="other_csrf"):
        assert (
            "other_csrf" in privacy._exempt_cookies()
            and "csrftoken" not in privacy._exempt_cookies()
        )
    assert http._django() == before and "csrftoken" in privacy._exempt_cookies()
