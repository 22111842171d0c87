"""Pages and fragments with forms are cached; no visitor ever gets another's CSRF token.

The token is punched out of what is stored and filled in for each visitor on each hit,
and the CSRF cookie is set exactly when Django would set it: the form posts for everyone.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from unittest import mock

import pytest
from django.conf import settings
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CsrfViewMiddleware,
    _unmask_cipher_token,
)
from django.test import Client, RequestFactory, override_settings

from django_smartcache.frontends.csrf import (
    PLACEHOLDER,
    _mask,
    _random_string,
    token_for,
    unmask,
)
from tests.helpers import status
from tests.views import CALLS

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')


def token_in(response) -> str:
    found = TOKEN.findall(response.content.decode())
    assert found, f"no CSRF token in the page: {response.content[:300]!r}"
    assert len(set(found)) == 1, "one page carried several different tokens"
    return found[0]


def visitor() -> Client:
    return Client(enforce_csrf_checks=True)


def posts(client: Client, token: str) -> int:
    return client.post("/form/", {"csrfmiddlewaretoken": token}).status_code


def secret(client: Client) -> str:
    return client.cookies["csrftoken"].value


@pytest.mark.parametrize("url", ["/csrf/template/", "/csrf/"])
def test_a_page_with_a_form_is_cached_and_posts_for_every_visitor(url):
    alice, bob = visitor(), visitor()
    pages = [(alice, alice.get(url)), (bob, bob.get(url)), (alice, alice.get(url))]
    pages.append((bob, bob.get(url)))
    assert [status(p) for _, p in pages] == ["MISS", "HIT", "HIT", "HIT"], (
        "a page whose only visitor-specific part is the CSRF token was not served from the cache"
    )
    assert sum(CALLS.values()) == 1, "the view ran more than once"
    for client, page in pages:
        token = token_in(page)
        assert unmask(token) == secret(client), "a visitor got a token of someone else's secret"
        assert PLACEHOLDER not in page.content.decode(), "the placeholder leaked into a page"
        assert "csrftoken" in page.cookies, "the CSRF cookie was not set, as Django sets it"
        assert posts(client, token) == 200, "the form on a cached page failed its CSRF check"
    assert secret(alice) != secret(bob)


def test_a_visitor_with_a_csrf_cookie_keeps_it_on_a_hit():
    alice, bob = visitor(), visitor()
    alice.get("/csrf/template/")
    first_secret = secret(alice)
    bob.get("/csrf/template/")
    again = alice.get("/csrf/template/")
    assert status(again) == "HIT"
    assert unmask(token_in(again)) == first_secret, "the hit rotated the visitor's CSRF secret"


def test_a_cached_form_fragment_carries_each_visitors_own_token():
    alice, bob = visitor(), visitor()
    first, second = alice.get("/csrf/fragment/"), bob.get("/csrf/fragment/")
    third = alice.get("/csrf/fragment/")
    assert CALLS["cart_form"] == 1, "the form fragment was rendered more than once"
    assert CALLS["outside"] == 3
    for client, page in ((alice, first), (bob, second), (alice, third)):
        token = token_in(page)
        assert unmask(token) == secret(client), "a fragment served another visitor's token"
        assert posts(client, token) == 200


def test_a_cached_page_around_a_cached_form_fragment_posts_for_both():
    alice, bob = visitor(), visitor()
    # Bob fills the fragment alone first; then the page is filled around a fragment hit.
    bob.get("/csrf/fragment/")
    pages = [(alice, alice.get("/csrf/fragment-page/")), (bob, bob.get("/csrf/fragment-page/"))]
    assert [status(p) for _, p in pages] == ["MISS", "HIT"]
    for client, page in pages:
        token = token_in(page)
        assert unmask(token) == secret(client), "bob got alice's token through the page"
        assert posts(client, token) == 200


@pytest.mark.parametrize("url", ["/csrf/secret/", "/csrf/header/"])
def test_a_token_that_cannot_be_punched_out_is_never_stored(url):
    alice, bob = visitor(), visitor()
    first, second = alice.get(url), bob.get(url)
    assert status(second) != "HIT"
    assert CALLS.total() == 2, "a page holding a visitor's secret was served from the cache"
    assert secret(alice) not in second.content.decode()
    assert secret(alice) not in str(second.headers)
    assert first.status_code == second.status_code == 200


def _django_token(meta: dict) -> tuple[str, dict]:
    from django.middleware.csrf import get_token

    request = RequestFactory().get("/")
    request.META.update(meta)
    return get_token(request), request.META


@pytest.mark.parametrize("cookie", [{}, {"CSRF_COOKIE": "a" * 16 + "Z9" * 8}])
def test_the_hit_makes_tokens_exactly_as_django_get_token_does(cookie):
    """``token_for`` (used on every hit) flags the request as ``get_token`` does and its
    tokens unmask to the visitor's secret; only the masks differ (they are random)."""
    request = RequestFactory().get("/")
    request.META.update(cookie)
    first, second = token_for(request), token_for(request)
    django_token, django_meta = _django_token(cookie)
    flags = ("CSRF_COOKIE_NEEDS_UPDATE",)
    assert {k: request.META[k] for k in flags} == {k: django_meta[k] for k in flags}
    secret_ = request.META["CSRF_COOKIE"]
    if cookie:
        assert secret_ == cookie["CSRF_COOKIE"], "the visitor's secret was replaced"
    for token in (first, second):
        assert len(token) == len(django_token) and set(token) <= set(CSRF_ALLOWED_CHARS)
        assert unmask(token) == secret_ == _unmask_cipher_token(token)
    assert first != second, "two tokens for one request share their mask"


def test_the_random_characters_are_uniform_over_the_whole_alphabet():
    """62 characters from 256 byte values: bytes past 248 are dropped, or the first
    eight characters would come up 5 times in 4 more often than the rest."""
    counts = Counter("".join(_random_string() for _ in range(4000)))  # 128,000 characters
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    expected = 128_000 / 62
    biased, fair = CSRF_ALLOWED_CHARS[:8], CSRF_ALLOWED_CHARS[8:]
    assert sum(counts[c] for c in biased) / 8 < expected * 1.08  # bias would be +20 %
    assert all(abs(counts[c] - expected) < expected * 0.15 for c in fair)


def test_a_malformed_secret_is_left_to_django():
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = "not-a-secret"
    with mock.patch("django_smartcache.frontends.csrf.get_token", return_value="D" * 64) as dj:
        assert token_for(request) == "D" * 64
    dj.assert_called_once_with(request)


def test_the_hits_masking_is_djangos_for_every_pair_of_characters():
    """Every (secret character, mask character) pair ciphers as Django's own masking does."""
    chars = CSRF_ALLOWED_CHARS
    for shift in range(len(chars)):
        for start in (0, 30):
            secret = (chars * 2)[start : start + 32]
            mask = (chars * 3)[start + shift : start + shift + 32]
            token = mask + _mask(secret, mask)
            assert _unmask_cipher_token(token) == secret == unmask(token)


def _cookie_line(response, name: str) -> tuple[str, float | None]:
    """The CSRF cookie's ``Set-Cookie`` line with its value and expiry taken out, and
    the expiry (seconds from now), as the WSGI handler writes them."""
    line = response.cookies[name].output(header="")
    value = response.cookies[name].value
    expires = response.cookies[name]["expires"]
    when = parsedate_to_datetime(expires).timestamp() - time.time() if expires else None
    return line.replace(value, "<secret>").replace(expires, "<expires>"), when


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"CSRF_COOKIE_AGE": None},
        {"CSRF_COOKIE_AGE": 3600, "CSRF_COOKIE_SAMESITE": "Strict", "CSRF_COOKIE_SECURE": True},
        {"CSRF_COOKIE_HTTPONLY": True, "CSRF_COOKIE_SAMESITE": None, "CSRF_COOKIE_PATH": "/csrf/"},
        {"CSRF_COOKIE_NAME": "formtoken", "CSRF_COOKIE_DOMAIN": "testserver"},
        {"CSRF_COOKIE_AGE": 3600.5},  # a fractional age: left to Django's middleware
    ],
)
def test_a_hit_sets_the_csrf_cookie_exactly_as_djangos_middleware(overrides):
    """A hit sets the cookie itself (cheaper than ``set_cookie``): the same attributes, the
    same expiry and the same ``Vary`` as Django's middleware sets on the uncached page,
    for a first-time visitor and for a returning one (whose cookie is renewed)."""
    name = overrides.get("CSRF_COOKIE_NAME", "csrftoken")
    with override_settings(**overrides):
        first, again = Client(), Client()
        miss, hit = first.get("/csrf/template/"), again.get("/csrf/template/")
        renewed = again.get("/csrf/template/")
        assert [status(miss), status(hit), status(renewed)] == ["MISS", "HIT", "HIT"]
        django_line, django_expiry = _cookie_line(miss, name)
        for page in (hit, renewed):
            line, expiry = _cookie_line(page, name)
            assert line == django_line, "the hit's CSRF cookie differs from Django's"
            if django_expiry is None:
                assert expiry is None
            else:
                assert abs(expiry - django_expiry) < 2, "the hit's cookie expires at another time"
            assert page["Vary"] == miss["Vary"]
        assert renewed.cookies[name].value == hit.cookies[name].value, "the secret was rotated"
        assert unmask(token_in(renewed)) == hit.cookies[name].value


class ProjectCsrfMiddleware(CsrfViewMiddleware):
    """A project's own CSRF middleware that sets the cookie its own way."""

    def _set_csrf_cookie(self, request, response):
        super()._set_csrf_cookie(request, response)
        response.cookies[settings.CSRF_COOKIE_NAME]["path"] = "/project/"


def test_a_project_csrf_middleware_sets_the_cookie_of_a_hit_its_own_way():
    """With a CSRF middleware of the project's own in place of Django's, the hit leaves the
    cookie to it, as the uncached page does."""
    django_csrf = "django.middleware.csrf.CsrfViewMiddleware"
    own = f"{__name__}.ProjectCsrfMiddleware"
    with override_settings(
        MIDDLEWARE=[own if m == django_csrf else m for m in settings.MIDDLEWARE]
    ):
        miss, hit = Client().get("/csrf/template/"), Client().get("/csrf/template/")
    assert [status(miss), status(hit)] == ["MISS", "HIT"]
    assert miss.cookies["csrftoken"]["path"] == hit.cookies["csrftoken"]["path"] == "/project/"
