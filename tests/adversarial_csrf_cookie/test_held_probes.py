"""Probes that held: the hit's CSRF cookie matches Django's in these cases (kept as
regression coverage for the report's "held" list)."""

from __future__ import annotations

import datetime
import re
import threading
import time
from email.utils import parsedate_to_datetime

import pytest
from django.conf import settings
from django.middleware.csrf import _mask_cipher_secret
from django.test import Client, override_settings

from django_smartcache.frontends.csrf import unmask
from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial_csrf_cookie.views")]

CSRF = "django.middleware.csrf.CsrfViewMiddleware"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')


def visitor() -> Client:
    return Client(enforce_csrf_checks=True)


def token_in(response) -> str:
    return TOKEN.findall(response.content.decode())[0]


def line(response, name="csrftoken"):
    morsel = response.cookies[name]
    text = morsel.output(header="").replace(morsel.value, "<v>")
    expires = morsel["expires"]
    when = parsedate_to_datetime(expires).timestamp() - time.time() if expires else None
    return (text.replace(expires, "<e>") if expires else text), when


@pytest.mark.parametrize(
    "overrides",
    [
        {"CSRF_COOKIE_AGE": 0},
        {"CSRF_COOKIE_AGE": -10},
        {"CSRF_COOKIE_AGE": datetime.timedelta(hours=1)},
        {"CSRF_COOKIE_AGE": 10.0},
        {"CSRF_COOKIE_AGE": True},
        {"CSRF_COOKIE_SAMESITE": "None", "CSRF_COOKIE_SECURE": True},
        {"CSRF_COOKIE_SAMESITE": "none"},
        {"CSRF_COOKIE_DOMAIN": ".testserver", "CSRF_COOKIE_PATH": "/"},
    ],
)
def test_cookie_settings(overrides):
    with override_settings(**overrides):
        miss, hit = visitor().get("/form/"), visitor().get("/form/")
        assert [status(miss), status(hit)] == ["MISS", "HIT"]
        (a, ta), (b, tb) = line(miss), line(hit)
        assert a == b
        assert (ta is None) == (tb is None) and (ta is None or abs(ta - tb) < 2)
        assert hit["Vary"] == miss["Vary"]


def test_invalid_samesite_fails_on_the_hit_as_on_the_miss():
    with override_settings(CSRF_COOKIE_SAMESITE="Bogus"):
        for _ in range(2):
            with pytest.raises(ValueError):
                visitor().get("/form/")


@pytest.mark.parametrize(
    "cookie",
    ["short", "é" * 32, "a" * 31 + "-", "x" * 65, None],  # None: a legacy masked token
)
def test_malformed_or_legacy_cookie(cookie):
    visitor().get("/form/")
    bob = visitor()
    legacy_secret = "s" * 32
    bob.cookies["csrftoken"] = _mask_cipher_secret(legacy_secret) if cookie is None else cookie
    page = bob.get("/form/")
    assert status(page) == "HIT"
    value = page.cookies["csrftoken"].value
    assert unmask(token_in(page)) == value
    if cookie is None:
        assert value == legacy_secret
    assert bob.post("/post/", {"csrfmiddlewaretoken": token_in(page)}).status_code == 200


def test_duplicated_cookie_header():
    visitor().get("/form/")
    bob = visitor()
    a, b = "A" * 32, "B" * 32
    page = bob.get("/form/", HTTP_COOKIE=f"csrftoken={a}; csrftoken={b}")
    assert status(page) == "HIT"
    assert page.cookies["csrftoken"].value == unmask(token_in(page)) == b


def test_csrf_use_sessions():
    with override_settings(CSRF_USE_SESSIONS=True):
        miss, hit = visitor().get("/form/"), visitor().get("/form/")
        assert status(hit) == "HIT"
        assert set(miss.cookies) == set(hit.cookies) == {"sessionid"}
        assert miss["Vary"] == hit["Vary"]


def test_no_csrf_middleware_sets_no_cookie():
    stack = [m for m in settings.MIDDLEWARE if m != CSRF]
    with override_settings(MIDDLEWARE=stack):
        miss, hit = visitor().get("/form/"), visitor().get("/form/")
        assert status(hit) == "HIT"
        assert "csrftoken" not in miss.cookies and "csrftoken" not in hit.cookies
        assert miss.get("Vary") == hit.get("Vary")


def test_two_copies_of_the_middleware():
    stack = list(settings.MIDDLEWARE)
    stack.insert(stack.index(CSRF) + 2, CSRF)
    with override_settings(MIDDLEWARE=stack):
        miss, hit = visitor().get("/form/"), visitor().get("/form/")
        assert status(hit) == "HIT"
        assert line(miss)[0] == line(hit)[0] and miss["Vary"] == hit["Vary"]


def test_cookie_name_changed_between_requests():
    visitor().get("/form/")
    with override_settings(CSRF_COOKIE_NAME="formtoken"):
        bob = visitor()
        page = bob.get("/form/")
        assert status(page) == "HIT"
        assert set(page.cookies) == {"formtoken"}
        assert bob.post("/post/", {"csrfmiddlewaretoken": token_in(page)}).status_code == 200


def test_head_hit_sets_the_cookie():
    visitor().get("/form/")
    page = visitor().head("/form/")
    assert status(page) == "HIT" and "csrftoken" in page.cookies


def test_concurrent_visitors_get_their_own_secret():
    visitor().get("/form/")
    results = []

    def run():
        c = visitor()
        for _ in range(5):
            page = c.get("/form/")
            results.append((status(page), c.cookies["csrftoken"].value, unmask(token_in(page))))

    threads = [threading.Thread(target=run) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80
    assert all(a == b for _, a, b in results), "a visitor got a token of another's secret"
    assert sum(s == "HIT" for s, _, _ in results) >= 40, sorted({s for s, _, _ in results})
    assert len({a for _, a, _ in results}) == 16


def test_forwarded_host_and_server_name_are_checked_on_hits():
    stack = [m for m in settings.MIDDLEWARE if m != "django.middleware.common.CommonMiddleware"]
    with override_settings(
        MIDDLEWARE=stack, ALLOWED_HOSTS=["a.example"], USE_X_FORWARDED_HOST=True
    ):
        c = Client()
        assert c.get("/canonical/", HTTP_HOST="a.example").status_code == 200
        assert status(c.get("/canonical/", HTTP_HOST="a.example")) == "HIT"
        bad = c.get("/canonical/", HTTP_HOST="a.example", HTTP_X_FORWARDED_HOST="evil.example")
        assert bad.status_code == 400
        assert c.get("/canonical/", SERVER_NAME="a.example").status_code == 200
        assert c.get("/canonical/", SERVER_NAME="evil.example").status_code == 400
        assert c.get("/canonical/", HTTP_HOST="a.example:8000").status_code == 200
    with override_settings(
        MIDDLEWARE=stack, ALLOWED_HOSTS=["b.example"], USE_X_FORWARDED_HOST=True
    ):
        assert Client().get("/canonical/", HTTP_HOST="a.example").status_code == 400
