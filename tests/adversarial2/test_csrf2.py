"""CSRF: tokens reaching shared entries by other routes; hits filling tokens in."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.test import Client, override_settings

from django_smartcache import invalidate
from django_smartcache.frontends.csrf import PLACEHOLDER, unmask
from tests.adversarial.common import owners, secret
from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial2.urls")]
FORM_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')


def visitor() -> Client:
    return Client(enforce_csrf_checks=True)


def test_token_passed_into_a_cached_function_is_not_stored_for_others():
    alice, bob = visitor(), visitor()
    alice.get("/fn/footer-form/")
    page = bob.get("/fn/footer-form/")
    assert 0 not in owners(page.content, alice, bob), "bob's form carries alice's CSRF token"
    assert 1 in owners(page.content, alice, bob), "bob's form has no token of his own"


def test_token_of_a_rotated_secret_in_a_fragment_is_not_shared():
    alice, bob = visitor(), visitor()
    alice.get("/fn/footer-form/")  # alice has a CSRF cookie already
    first_secret = secret(alice)
    alice.get("/frag/rotated/")
    page = bob.get("/frag/rotated/")
    for token in FORM_TOKEN.findall(page.content):
        assert unmask(token.decode()) != first_secret, (
            "bob's fragment carries a token of alice's (former) CSRF secret"
        )


def test_placeholder_split_across_a_fragment_boundary_is_never_filled():
    half = len(PLACEHOLDER) // 2
    url = f"/split/?a={quote(PLACEHOLDER[:half])}&b={quote(PLACEHOLDER[half:])}"
    visitor().get(url)
    victim = visitor()
    page = victim.get(url)
    leaked = re.search(rb"evil\.example/c\?q=([A-Za-z0-9]{64})", page.content)
    assert leaked is None, "the victim's CSRF token was written into the attacker's link"


@override_settings(SMARTCACHE={"STALE_ON_INVALIDATION": True})
def test_stale_form_page_after_an_invalidation_carries_each_visitors_token():
    alice, bob = visitor(), visitor()
    alice.get("/stale-form/")
    invalidate("adv2-form")
    page = bob.get("/stale-form/")
    assert 0 not in owners(page.content, alice, bob), (
        f"bob ({status(page)}) got alice's CSRF token after an invalidation"
    )
    token = FORM_TOKEN.search(page.content).group(1).decode()
    assert bob.post("/stale-form/", {"csrfmiddlewaretoken": token}).status_code != 403


def test_form_page_with_a_vary_manifest_carries_each_visitors_token():
    alice, bob = visitor(), visitor()
    alice.get("/vary-form/", HTTP_X_FLAG="1")
    page = bob.get("/vary-form/", HTTP_X_FLAG="1")
    assert status(page) == "HIT"
    assert owners(page.content, alice, bob) == {1}, "bob's variant carries alice's CSRF token"


def test_head_first_then_get_carries_each_visitors_token():
    alice, bob = visitor(), visitor()
    alice.head("/stale-form/")
    alice.get("/stale-form/")
    bob.head("/stale-form/")
    page = bob.get("/stale-form/")
    assert owners(page.content, alice, bob) == {1}, "bob's form carries alice's CSRF token"
