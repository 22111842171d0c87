"""Bad input gets a clear error; a cache that fails turns into a bypass, never a 500."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_smartcache import cache_page, depend_on, invalidate
from tests.helpers import DOWN_CACHE, status
from tests.testapp.models import Product
from tests.views import CALLS


def smartcache_messages():
    return [m for m in checks.run_checks(tags=[checks.Tags.caches]) if m.id.startswith("smartc")]


@pytest.mark.parametrize(
    "bad",
    [
        object(),
        42,
        "",
        None,
        Decimal("1.5"),
    ],
)
def test_bad_dependency_on_the_decorator_is_a_type_error_naming_it(bad):
    with pytest.raises(TypeError, match="is not a model class"):
        cache_page(60, depends_on=[bad])(lambda request: None)


def test_bad_dependency_at_run_time_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="3.5"):
        depend_on(3.5)
    with pytest.raises(TypeError, match="is not a model class"):
        invalidate(["a", "list"])


@pytest.mark.django_db
def test_unsaved_instance_is_a_type_error():
    with pytest.raises(TypeError, match="unsaved Product"):
        depend_on(Product(name="x"))


def test_unknown_model_label_names_the_model():
    with pytest.raises(ValueError, match="testapp.*Nope"):
        cache_page(60, depends_on=["testapp.Nope"])(lambda request: None)


def test_timeout_must_come_first():
    with pytest.raises(TypeError, match="timeout first"):
        cache_page(lambda request: None)


def test_correct_settings_pass_the_checks():
    assert smartcache_messages() == []


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"TIMEOUTT": 5}, "TIMEOUTT"),
        ({"TIMEOUT": "soon"}, "TIMEOUT"),
        ({"JITTER": 2}, "JITTER"),
        ({"HEADER": 7}, "HEADER"),
        ({"CACHE_AUTHENTICATED": "yes"}, "CACHE_AUTHENTICATED"),
        ({"CACHEABLE_STATUS": [200, "ok"]}, "CACHEABLE_STATUS"),
        ("not a dict", "SMARTCACHE must be a dict"),
    ],
)
def test_bad_setting_fails_the_checks_naming_it(value, named):
    with override_settings(SMARTCACHE=value):
        messages = smartcache_messages()
        assert [m.id for m in messages] == ["smartcache.E001"]
        assert named in messages[0].msg
        with pytest.raises(SystemCheckError, match=named):
            call_command("check")
        with pytest.raises(ImproperlyConfigured, match=named):
            from django_smartcache.conf import get_settings

            get_settings()


@override_settings(SMARTCACHE={"CACHE_ALIAS": "nope"})
def test_unknown_cache_alias_fails_the_checks():
    (message,) = smartcache_messages()
    assert message.id == "smartcache.E002"
    assert "CACHE_ALIAS" in message.msg and "'nope'" in message.msg


@override_settings(SMARTCACHE={"CACHE_ALIAS": "locmem"})
def test_process_local_backend_gets_a_warning():
    (message,) = smartcache_messages()
    assert message.id == "smartcache.W001"
    assert "local to one process" in message.msg


DOWN = {
    "default": DOWN_CACHE,
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}


@pytest.mark.django_db
def test_unreachable_redis_turns_into_bypass(client, shop, caplog):
    with override_settings(CACHES=DOWN), caplog.at_level(logging.ERROR, "django_smartcache"):
        responses = [client.get("/catalog/") for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert {status(r) for r in responses} == {"BYPASS"}
    assert CALLS["catalog"] == 5
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, "one outage, one error line (then back-off)"


@pytest.mark.django_db
def test_failed_invalidation_is_retried_before_anything_is_served(
    client, shop, django_capture_on_commit_callbacks
):
    client.get("/catalog/")
    assert status(client.get("/catalog/")) == "HIT"
    no_backoff = override_settings(SMARTCACHE={"ERROR_BACKOFF": 0})
    outage = override_settings(CACHES=DOWN)
    with no_backoff, outage, django_capture_on_commit_callbacks(execute=True):
        laptop = shop["laptop"]
        laptop.price = Decimal("5.00")
        laptop.save()  # the save succeeds although the invalidation cannot be sent
    assert Product.objects.get(slug="laptop").price == Decimal("5.00")
    with no_backoff:
        response = client.get("/catalog/")
    assert response.content.startswith(b"Laptop=5.00")
    assert status(response) == "MISS"
