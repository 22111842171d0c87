"""CSRF: a page never carries another visitor's token; the placeholder cannot be abused."""

from __future__ import annotations

import gzip
import re
from urllib.parse import quote

import pytest
from django.test import Client

from django_smartcache.frontends.csrf import PLACEHOLDER
from tests.adversarial.common import FORM_TOKEN, owners, secret, tokens_of
from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial.urls")]


def visitor() -> Client:
    return Client(enforce_csrf_checks=True)


def body(response) -> bytes:
    if response.get("Content-Encoding") == "gzip":
        return gzip.decompress(response.content)
    return response.content


def test_placeholder_injected_through_the_query_is_not_filled_with_the_victims_token():
    """An attacker's link puts the placeholder where it ends up in an attacker-controlled URL."""
    url = "/echo-form/?q=" + quote(PLACEHOLDER)
    attacker = visitor()
    attacker.get(url)  # fills the cache
    victim = visitor()
    page = victim.get(url)
    assert status(page) != "HIT", "a page that held the placeholder before punching was stored"
    leaked = re.search(rb"evil\.example/collect\?q=([A-Za-z0-9]{64})", page.content)
    assert leaked is None, (
        "the victim's own CSRF token was written into the attacker's URL "
        f"(owner: {owners(page.content, attacker, victim)})"
    )


def test_placeholder_injected_into_a_fragment_is_not_filled_with_the_victims_token():
    url = "/frag/echo/?q=" + quote(PLACEHOLDER)
    visitor().get(url)
    victim = visitor()
    page = victim.get(url)
    leaked = re.search(rb"evil\.example/collect\?q=([A-Za-z0-9]{64})", page.content)
    assert leaked is None, "a fragment without any form got the victim's CSRF token filled in"


def test_token_glued_to_other_characters_is_not_shared():
    alice, bob = visitor(), visitor()
    alice.get("/adjacent-token/")
    page = bob.get("/adjacent-token/")
    assert 0 not in owners(page.content.replace(b'"v1', b'"'), alice, bob), (
        f"bob ({status(page)}) got alice's CSRF token"
    )


def test_token_in_a_utf16_page_is_not_shared():
    alice, bob = visitor(), visitor()
    alice.get("/utf16-token/")
    page = bob.get("/utf16-token/")
    text = page.content.decode("utf-16").encode()
    assert 0 not in owners(text, alice, bob), f"bob ({status(page)}) got alice's CSRF token"


@pytest.mark.parametrize("url", ["/token-json/", "/token-comment/"])
def test_token_in_json_or_a_comment_is_per_visitor(url):
    alice, bob = visitor(), visitor()
    a = alice.get(url)
    b = bob.get(url)
    a2 = alice.get(url)
    assert owners(a.content, alice, bob) == {0}
    assert owners(b.content, alice, bob) == {1}, f"bob ({status(b)}) did not get his own token"
    assert owners(a2.content, alice, bob) == {0}
    assert status(b) == "HIT"


def test_gzip_page_inside_cache_page_never_shares_a_token():
    alice, bob = visitor(), visitor()
    a = alice.get("/gzip-form/", HTTP_ACCEPT_ENCODING="gzip")
    b = bob.get("/gzip-form/", HTTP_ACCEPT_ENCODING="gzip")
    assert owners(body(a), alice, bob) == {0}
    assert owners(body(b), alice, bob) == {1}, (
        f"bob ({status(b)}) got {owners(body(b), alice, bob)}"
    )


def test_gzip_page_without_accept_encoding_is_cached_and_per_visitor():
    alice, bob = visitor(), visitor()
    alice.get("/gzip-form/")
    b = bob.get("/gzip-form/")
    assert owners(body(b), alice, bob) == {1}
    assert status(b) == "HIT"


def test_ensure_csrf_cookie_outside_cache_page_sets_the_cookie_on_hits():
    visitor().get("/ensure-outside/")
    bob = visitor()
    page = bob.get("/ensure-outside/")
    assert status(page) == "HIT"
    assert "csrftoken" in page.cookies


def test_ensure_csrf_cookie_inside_cache_page_sets_the_cookie_on_hits():
    visitor().get("/ensure-inside/")
    bob = visitor()
    page = bob.get("/ensure-inside/")
    assert "csrftoken" in page.cookies, f"{status(page)}: the cookie the view ensures is missing"


def test_csrf_exempt_page_with_a_form_is_per_visitor():
    alice, bob = visitor(), visitor()
    alice.get("/exempt-form/")
    page = bob.get("/exempt-form/")
    assert owners(page.content, alice, bob) == {1}


@pytest.mark.parametrize("url", ["/rotate-then-form/", "/form-then-rotate/"])
def test_rotated_tokens_are_never_shared(url):
    alice, bob = visitor(), visitor()
    first = alice.get(url)
    alice_tokens = set(tokens_of(first.content))
    page = bob.get(url)
    shared = alice_tokens & set(tokens_of(page.content))
    assert not shared, f"bob ({status(page)}) got the exact token alice was given"


def test_lazy_token_already_evaluated_before_a_fragment_is_punched():
    alice, bob = visitor(), visitor()
    alice.get("/frag/lazy-token/")
    page = bob.get("/frag/lazy-token/")
    assert owners(page.content, alice, bob) == {1}
    for token in FORM_TOKEN.findall(page.content.decode()):
        assert bob.post("/post/", {"csrfmiddlewaretoken": token}).status_code == 200


def test_fragment_rendered_without_the_request_does_not_share_a_token():
    alice, bob = visitor(), visitor()
    alice.get("/frag/no-request/")
    page = bob.get("/frag/no-request/")
    assert 0 not in owners(page.content, alice, bob), "bob's form carries alice's CSRF token"


def test_get_token_in_a_cached_function_inside_a_page():
    alice, bob = visitor(), visitor()
    alice.get("/fn/token-page/")
    page = bob.get("/fn/token-page/")
    assert owners(page.content, alice, bob) == {1}
    token = FORM_TOKEN.findall(page.content.decode())[0]
    assert bob.post("/post/", {"csrfmiddlewaretoken": token}).status_code == 200


def test_async_view_with_a_form_is_per_visitor():
    alice, bob = visitor(), visitor()
    alice.get("/async/form/")
    page = bob.get("/async/form/")
    assert owners(page.content, alice, bob) == {1}
    assert status(page) == "HIT"


def test_head_on_a_form_page_is_answered_from_the_get_entry_with_age():
    alice, bob = visitor(), visitor()
    alice.get("/plain-form/")
    head = bob.head("/plain-form/")
    assert status(head) == "HIT" and head.has_header("Age")
    assert 0 not in owners(head.content, alice, bob)
    assert secret(bob) is not None
