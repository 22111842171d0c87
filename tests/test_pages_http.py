"""cache_page follows HTTP: what is stored, what is served, and with which headers."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import override_settings

from tests.helpers import status
from tests.views import CALLS

pytestmark = pytest.mark.django_db


def test_second_get_is_a_hit_with_same_body_and_age(client, shop):
    first = client.get("/catalog/")
    second = client.get("/catalog/")
    assert (status(first), status(second)) == ("MISS", "HIT")
    assert second.content == first.content == b"Laptop=999.00, Phone=499.00"
    assert second["Content-Type"] == first["Content-Type"]
    assert int(second["Age"]) >= 0
    assert "Age" not in first
    assert CALLS["catalog"] == 1


def test_head_is_answered_from_the_get_entry(client, shop):
    client.get("/catalog/")
    head = client.head("/catalog/")
    assert head.status_code == 200
    assert status(head) == "HIT"
    assert CALLS["catalog"] == 1


def test_head_miss_runs_the_view_and_stores_nothing(client, shop):
    assert status(client.head("/catalog/")) == "MISS"
    assert status(client.get("/catalog/")) == "MISS"
    assert CALLS["catalog"] == 2


def test_post_bypasses_the_cache(client, shop):
    client.get("/catalog/")
    response = client.post("/catalog/")
    assert status(response) == "BYPASS"
    assert CALLS["catalog"] == 2


def test_query_order_does_not_matter_but_values_do(client):
    client.get("/plain/?a=1&b=2")
    assert status(client.get("/plain/?b=2&a=1")) == "HIT"
    assert status(client.get("/plain/?a=1&b=3")) == "MISS"
    client.get("/plain/?a=1&a=2")
    assert status(client.get("/plain/?a=2&a=1")) == "MISS", "repeated values keep their order"
    assert CALLS["plain"] == 4


def test_query_params_limits_the_key_to_the_named_parameters(client):
    client.get("/listing/?page=2&sort=price&utm_source=mail")
    hit = client.get("/listing/?utm_source=ad&sort=price&page=2")
    assert (status(hit), hit.content) == ("HIT", b"page=2 sort=price")
    assert status(client.get("/listing/?page=3&sort=price")) == "MISS"
    assert CALLS["listing"] == 2


def test_host_is_part_of_the_key(client):
    client.get("/plain/", HTTP_HOST="a.example")
    assert status(client.get("/plain/", HTTP_HOST="b.example")) == "MISS"
    assert status(client.get("/plain/", HTTP_HOST="a.example")) == "HIT"


def test_a_host_allowed_once_is_checked_again_when_allowed_hosts_change(client):
    """Each host's ``ALLOWED_HOSTS`` check is remembered (hits are cheaper), never past a
    settings change: a host no longer allowed is refused, on the cached page too.
    (Without CommonMiddleware, which would refuse it before the view.)"""
    stack = [m for m in settings.MIDDLEWARE if m != "django.middleware.common.CommonMiddleware"]
    with override_settings(MIDDLEWARE=stack, ALLOWED_HOSTS=["a.example", "b.example"]):
        assert client.get("/catalog/", HTTP_HOST="a.example").status_code == 200
        assert status(client.get("/catalog/", HTTP_HOST="a.example")) == "HIT"
        assert client.get("/catalog/", HTTP_HOST="evil.example").status_code == 400
    with override_settings(MIDDLEWARE=stack, ALLOWED_HOSTS=["b.example"]):
        assert client.get("/catalog/", HTTP_HOST="a.example").status_code == 400
        assert client.get("/catalog/", HTTP_HOST="b.example").status_code == 200


@pytest.mark.parametrize("code", [404, 500, 302, 201])
def test_only_status_200_is_stored_by_default(client, code):
    first = client.get(f"/status/{code}/")
    second = client.get(f"/status/{code}/")
    assert first.status_code == second.status_code == code
    assert status(second) != "HIT"
    assert CALLS["status"] == 2


@override_settings(SMARTCACHE={"CACHEABLE_STATUS": [200, 404]})
def test_cacheable_status_is_configurable(client):
    client.get("/status/404/")
    assert status(client.get("/status/404/")) == "HIT"


def test_response_setting_a_cookie_is_not_stored(client):
    client.get("/cookie/")
    response = client.get("/cookie/")
    assert status(response) != "HIT"
    assert response.cookies["flavour"].value == "oat"
    assert CALLS["cookie"] == 2


@pytest.mark.parametrize("directive", ["private", "no-store", "no-cache"])
def test_cache_control_forbidding_storage_is_honoured(client, directive):
    client.get(f"/cache-control/{directive}/")
    assert status(client.get(f"/cache-control/{directive}/")) != "HIT"
    assert CALLS["cache_control"] == 2


def test_vary_star_is_not_stored(client):
    client.get("/vary/*/")
    assert status(client.get("/vary/*/")) != "HIT"


def test_streaming_response_is_not_stored(client):
    response = client.get("/streaming/")
    assert b"".join(response.streaming_content) == b"ab"
    client.get("/streaming/")
    assert CALLS["streaming"] == 2


def test_key_honours_the_response_vary_header(client):
    fr = client.get("/vary/Accept-Language/", HTTP_ACCEPT_LANGUAGE="fr")
    de = client.get("/vary/Accept-Language/", HTTP_ACCEPT_LANGUAGE="de")
    fr_again = client.get("/vary/Accept-Language/", HTTP_ACCEPT_LANGUAGE="fr")
    de_again = client.get("/vary/Accept-Language/", HTTP_ACCEPT_LANGUAGE="de")
    assert (status(fr), status(de)) == ("MISS", "MISS")
    assert (status(fr_again), status(de_again)) == ("HIT", "HIT")
    assert fr_again.content == b"value=fr"
    assert de_again.content == b"value=de"
    assert "Accept-Language" in fr_again["Vary"]


def test_page_reading_the_session_is_not_stored(client):
    session = client.session
    session["cart"] = 3
    session.save()
    assert client.get("/session/").content == b"cart=3"
    other = client.__class__()
    assert other.get("/session/").content == b"cart=0"
    assert CALLS["session"] == 2


def test_anonymous_page_that_checks_the_user_is_stored_without_vary_cookie_leak(client):
    first = client.get("/whoami/")
    second = client.get("/whoami/")
    assert (first.content, status(second)) == (b"anonymous", "HIT")
    assert not second.cookies  # no session or CSRF cookie handed out from a cached page


def test_authenticated_users_bypass_by_default(client, db):
    client.get("/whoami/")  # cache the anonymous page
    client.force_login(User.objects.create_user("ann"))
    response = client.get("/whoami/")
    assert (response.content, status(response)) == (b"ann", "BYPASS")


@override_settings(SMARTCACHE={"CACHE_AUTHENTICATED": True})
def test_cache_authenticated_keys_pages_per_user(client, db):
    ann, bob = User.objects.create_user("ann"), User.objects.create_user("bob")
    client.get("/whoami/")
    client.force_login(ann)
    assert client.get("/whoami/").content == b"ann"
    hit = client.get("/whoami/")
    assert (hit.content, status(hit)) == (b"ann", "HIT")
    client.force_login(bob)
    response = client.get("/whoami/")
    assert (response.content, status(response)) == (b"bob", "MISS")
    client.logout()
    assert client.get("/whoami/").content == b"anonymous"


@override_settings(SMARTCACHE={"ENABLED": False})
def test_disabled_app_bypasses(client, shop):
    client.get("/catalog/")
    assert status(client.get("/catalog/")) == "BYPASS"


@override_settings(SMARTCACHE={"HEADER": "X-Cache"})
def test_header_name_is_configurable(client, shop):
    client.get("/catalog/")
    response = client.get("/catalog/")
    assert response["X-Cache"] == "HIT"
    assert "X-Smartcache" not in response


def test_async_views_are_cached(client):
    client.get("/async/")
    response = client.get("/async/")
    assert (response.content, status(response)) == (b"async", "HIT")
    assert CALLS["async"] == 1
