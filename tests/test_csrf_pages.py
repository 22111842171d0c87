"""Pages and fragments with forms are cached; no visitor ever gets another's CSRF token.

The token is punched out of what is stored and filled in for each visitor on each hit,
and the CSRF cookie is set exactly when Django would set it: the form posts for everyone.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from django_smartcache.frontends.csrf import PLACEHOLDER, unmask
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
