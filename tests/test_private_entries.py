"""Nothing private is shared: credentials, cookies, and entries that read the visitor.

Each test uses two visitors and checks what the second one receives.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from django_smartcache.conf import get_settings
from tests.helpers import status
from tests.views import CALLS

pytestmark = pytest.mark.django_db

P = "/private"


# --------------------------------------------------------------------------- Authorization


def test_a_response_to_a_token_is_never_served_to_another_token_or_to_nobody(client):
    alice = client.get(f"{P}/api/me/", HTTP_AUTHORIZATION="Token alice-secret")
    bob = client.get(f"{P}/api/me/", HTTP_AUTHORIZATION="Token bob-secret")
    nobody = client.get(f"{P}/api/me/")
    alice_again = client.get(f"{P}/api/me/", HTTP_AUTHORIZATION="Token alice-secret")
    assert alice.content == b"account of alice"
    assert bob.content == b"account of bob", "bob was served alice's account"
    assert nobody.content == b"account of anonymous", "a visitor without a token got an account"
    assert alice_again.content == b"account of alice"
    assert status(alice_again) != "HIT", "a response to Authorization was stored (RFC 9111 3.5)"
    assert "Authorization" in alice["Vary"], "Django adds Vary: Authorization; so must we"


def test_an_anonymous_entry_is_not_served_to_a_request_with_a_token(client):
    assert client.get(f"{P}/api/me/").content == b"account of anonymous"
    assert status(client.get(f"{P}/api/me/")) == "HIT"
    alice = client.get(f"{P}/api/me/", HTTP_AUTHORIZATION="Token alice-secret")
    assert alice.content == b"account of alice", "alice was served the anonymous page"


def test_an_empty_authorization_header_is_no_credential(client):
    client.get(f"{P}/api/me/")
    empty = client.get(f"{P}/api/me/", HTTP_AUTHORIZATION="")
    assert status(empty) == "HIT"
    assert not empty.has_header("Vary") or "Authorization" not in empty["Vary"]


def test_a_public_response_to_a_token_is_stored_for_that_token_only(client):
    first = client.get(f"{P}/api/public/", HTTP_AUTHORIZATION="Token alice-secret")
    again = client.get(f"{P}/api/public/", HTTP_AUTHORIZATION="Token alice-secret")
    bob = client.get(f"{P}/api/public/", HTTP_AUTHORIZATION="Token bob-secret")
    assert (status(first), status(again)) == ("MISS", "HIT")
    assert "Authorization" not in first.get("Vary", ""), "public: Django adds no Vary"
    assert bob.content == b"public catalogue for bob", "bob got the copy made for alice"


# --------------------------------------------------------------------------- cookies


def test_a_cookie_set_as_a_raw_header_is_never_replayed():
    alice, bob = Client(), Client()
    alice.get(f"{P}/raw-cookie/?who=alice")
    second = bob.get(f"{P}/raw-cookie/?who=alice")
    assert status(second) != "HIT"
    assert CALLS["raw_cookie"] == 2, "a response with a Set-Cookie header was stored"


# --------------------------------------------------------------------------- fragments


def _visitor_with_cart(cart: int) -> Client:
    visitor = Client()
    visitor.get(f"{P}/session/put/?cart={cart}")
    return visitor


def test_a_fragment_that_read_the_session_is_not_shared():
    alice, bob = _visitor_with_cart(3), _visitor_with_cart(7)
    pages = [v.get(f"{P}/fragment/session/").content for v in (alice, bob, alice, bob)]
    assert pages == [b"cart=3\n", b"cart=7\n", b"cart=3\n", b"cart=7\n"], "a cart was shared"


def test_the_private_mark_bubbles_from_a_fragment_to_its_page():
    alice, bob = _visitor_with_cart(3), _visitor_with_cart(7)
    first = alice.get(f"{P}/fragment/session-page/")
    second = bob.get(f"{P}/fragment/session-page/")
    assert second.content == b"cart=7\n", "bob got alice's cart through the page"
    assert status(second) != "HIT"
    # Once the fragment's pass marker stands, the page still learns it is private.
    third = alice.get(f"{P}/fragment/session-page/")
    assert (first.content, third.content) == (b"cart=3\n", b"cart=3\n")
    assert CALLS["session_fragment_page"] == 3


def test_the_private_mark_bubbles_from_an_inner_fragment_to_the_outer_one():
    alice, bob = _visitor_with_cart(3), _visitor_with_cart(7)
    assert alice.get(f"{P}/fragment/nested/").content == b"<cart=3>\n"
    assert bob.get(f"{P}/fragment/nested/").content == b"<cart=7>\n", "outer fragment shared"


@pytest.mark.parametrize("url", ["fragment/user/", "fragment/user-request/"])
def test_a_fragment_that_read_the_user_is_not_shared(url):
    User.objects.create_user("alice", password="pw")
    User.objects.create_user("bob", password="pw")
    alice, bob = Client(), Client()
    alice.login(username="alice", password="pw")
    bob.login(username="bob", password="pw")
    assert alice.get(f"{P}/{url}").content == b"hello alice\n"
    assert bob.get(f"{P}/{url}").content == b"hello bob\n", "bob was greeted as alice"
    assert Client().get(f"{P}/{url}").content == b"hello stranger\n"


def test_a_fragment_keyed_on_the_user_is_cached_per_user():
    User.objects.create_user("alice", password="pw")
    User.objects.create_user("bob", password="pw")
    alice, bob = Client(), Client()
    alice.login(username="alice", password="pw")
    bob.login(username="bob", password="pw")
    seen = [c.get(f"{P}/fragment/per-user/").content for c in (alice, bob, alice, bob)]
    assert seen == [b"hello alice\n", b"hello bob\n"] * 2
    assert CALLS["per_user"] == 2, "a fragment varying on the user was not cached per user"


def test_a_fragment_that_showed_messages_is_not_shared():
    alice, bob = Client(), Client()
    alice.get(f"{P}/messages/queue/?text=for-alice")
    bob.get(f"{P}/messages/queue/?text=for-bob")
    assert alice.get(f"{P}/fragment/messages/").content == b"[for-alice]\n"
    assert bob.get(f"{P}/fragment/messages/").content == b"[for-bob]\n", "bob got alice's message"


# --------------------------------------------------------------------------- functions


def test_a_function_that_read_the_user_is_not_shared():
    User.objects.create_user("alice", password="pw")
    alice = Client()
    alice.login(username="alice", password="pw")
    assert alice.get(f"{P}/function/greeting/").content == b"hello alice"
    assert Client().get(f"{P}/function/greeting/").content == b"hello stranger"


def test_a_function_that_read_the_session_is_not_shared():
    alice, bob = _visitor_with_cart(3), _visitor_with_cart(7)
    assert alice.get(f"{P}/function/cart/").content == b"cart=3"
    assert bob.get(f"{P}/function/cart/").content == b"cart=7", "bob got alice's cart"


def test_a_function_given_the_user_is_cached_per_user():
    User.objects.create_user("alice", password="pw")
    alice = Client()
    alice.login(username="alice", password="pw")
    seen = [c.get(f"{P}/function/per-user/").content for c in (alice, Client(), alice)]
    assert seen == [b"hello alice", b"hello stranger", b"hello alice"]
    assert CALLS["greeting_for"] == 2


def test_a_function_whose_custom_key_read_the_user_is_not_shared():
    User.objects.create_user("alice", password="pw")
    alice = Client()
    alice.login(username="alice", password="pw")
    seen = [c.get(f"{P}/function/custom-key/").content for c in (alice, Client(), alice)]
    assert seen == [b"hello alice", b"hello stranger", b"hello alice"]
    assert CALLS["greeting_by_custom_key"] == 3, "a custom key was trusted to name the user"


# --------------------------------------------------------------------------- Vary


def test_an_empty_header_and_an_absent_one_are_different_variants(client):
    absent = client.get("/vary/X-Pony/")
    empty = client.get("/vary/X-Pony/", HTTP_X_PONY="")
    assert (status(absent), status(empty)) == ("MISS", "MISS")
    assert status(client.get("/vary/X-Pony/", HTTP_X_PONY="")) == "HIT"
    assert status(client.get("/vary/X-Pony/")) == "HIT"


@override_settings(
    USE_I18N=True,
    LANGUAGES=[("en", "English"), ("fr", "French")],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "django.middleware.common.CommonMiddleware",
    ],
)
def test_accept_language_keys_on_the_active_language_not_the_raw_header(client):
    headers = ["fr", "fr-FR,fr;q=0.9", "fr-CA, fr;q=0.8, en;q=0.1", "en", "en-GB,en;q=0.5"]
    seen = [status(client.get("/vary/Accept-Language/", HTTP_ACCEPT_LANGUAGE=h)) for h in headers]
    assert seen == ["MISS", "HIT", "HIT", "MISS", "HIT"], "one entry per raw header string"


# --------------------------------------------------------------------------- class-based views


@pytest.mark.parametrize("url", ["cbv/products/", "cbv/products-wrapped/"])
def test_a_class_based_view_is_cached_after_it_renders(url, shop):
    first, second = Client().get(f"{P}/{url}"), Client().get(f"{P}/{url}")
    assert (status(first), status(second)) == ("MISS", "HIT")
    assert second.content == first.content == b"products: Laptop Phone \n"
    assert CALLS["template_view"] == 1


def test_a_template_that_fails_to_render_frees_the_lock(client):
    from tests import private_views

    with override_settings(SMARTCACHE={"LOCK_WAIT": 3.0, "LOCK_TIMEOUT": 30.0}):
        assert get_settings().LOCK_WAIT == 3.0
        private_views.BROKEN["on"] = True
        try:
            with pytest.raises(RuntimeError, match="the template failed"):
                client.get(f"{P}/cbv/broken/")
            private_views.BROKEN["on"] = False
            started = time.monotonic()
            fixed = client.get(f"{P}/cbv/broken/")
            waited = time.monotonic() - started
        finally:
            private_views.BROKEN["on"] = True
    assert fixed.content == b"before fine after\n"
    assert status(fixed) == "MISS"
    assert waited < 1.5, f"the next request waited {waited:.1f} s on a lock the failure left"
