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
