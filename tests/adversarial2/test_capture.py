"""Reads of the visitor that never go through the stand-ins."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.adversarial2.common import logged_in, with_session
from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial2.urls")]
MW = "tests.adversarial2.views."


# ----------------------------------------------------------- before the computation


@override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, MW + "SessionKeyCartMiddleware"])
def test_cart_keyed_on_session_key_read_by_a_middleware_is_not_shared():
    alice = with_session(theme="dark")
    alice_key = alice.cookies[settings.SESSION_COOKIE_NAME].value
    assert alice_key in alice.get("/cart/").content.decode()
    bob = with_session(theme="dark")
    page = bob.get("/cart/")
    assert alice_key not in page.content.decode(), (
        f"bob ({status(page)}) got alice's session-keyed cart (her session id too)"
    )


@override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, MW + "CookieCartMiddleware"])
def test_cart_from_a_cookie_read_by_a_middleware_is_not_shared():
    alice = Client()
    alice.cookies["cart"] = "alice-cart"
    assert b"alice-cart" in alice.get("/cart/").content
    bob = Client()
    bob.cookies["cart"] = "bob-cart"
    page = bob.get("/cart/")
    assert b"alice-cart" not in page.content, f"bob ({status(page)}) got alice's cart"


@override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, MW + "SessionCartMiddleware"])
def test_fragment_showing_a_cart_a_middleware_read_from_the_session_is_private():
    alice = with_session(cart="alice-cart")
    assert b"alice-cart" in alice.get("/frag/cart/").content
    bob = with_session(cart="bob-cart")
    page = bob.get("/frag/cart/")
    assert b"alice-cart" not in page.content, "bob's header fragment shows alice's cart"


@override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, MW + "ProfileMiddleware"])
def test_fragment_showing_user_data_a_middleware_stored_on_the_request_is_private():
    alice, bob = logged_in("alice"), logged_in("bob")
    assert b"Hi alice" in alice.get("/frag/profile-attr/").content
    page = bob.get("/frag/profile-attr/")
    assert b"Hi alice" not in page.content, "bob's fragment greets him as alice"


def test_session_handed_on_by_a_decorator_outside_cache_page_is_watched():
    alice = with_session(cart="alice-cart")
    assert b"alice-cart" in alice.get("/captured-session/").content
    bob = with_session(cart="bob-cart")
    page = bob.get("/captured-session/")
    assert b"alice-cart" not in page.content, f"bob ({status(page)}) got alice's cart"


def test_session_read_through_a_drf_style_request_wrapper_is_watched():
    alice = with_session(cart="alice-cart")
    assert b"alice-cart" in alice.get("/api/cart/").content
    bob = with_session(cart="bob-cart")
    page = bob.get("/api/cart/")
    assert b"alice-cart" not in page.content, f"bob ({status(page)}) got alice's API cart"


# ------------------------------------------------------------- cookies, other forms


@pytest.mark.parametrize("url", ["/raw-cookie/", "/headers-cookie/"])
def test_raw_cookie_header_read_by_the_view_is_not_shared(url):
    alice = Client()
    alice.cookies["jwt"] = "alice-jwt"
    assert b"alice-jwt" in alice.get(url).content
    bob = Client()
    bob.cookies["jwt"] = "bob-jwt"
    page = bob.get(url)
    assert b"alice-jwt" not in page.content, f"bob ({status(page)}) got alice's Cookie header"


def _signed(value: str) -> str:
    """The cookie value Django's own set_signed_cookie() makes (whatever its version)."""
    from django.http import HttpResponse

    response = HttpResponse()
    response.set_signed_cookie("who", value)
    return response.cookies["who"].value


def test_signed_cookie_is_not_shared():
    alice, bob = Client(), Client()
    alice.cookies["who"] = _signed("alice")
    bob.cookies["who"] = _signed("bob")
    assert b"who: alice" in alice.get("/signed-cookie/").content
    page = bob.get("/signed-cookie/")
    assert b"alice" not in page.content, f"bob ({status(page)}) got alice's signed cookie"


def test_cookie_popped_from_request_cookies_is_not_shared():
    alice, bob = Client(), Client()
    alice.cookies["jwt"] = "alice-jwt"
    bob.cookies["jwt"] = "bob-jwt"
    assert b"alice-jwt" in alice.get("/popped-cookie/").content
    page = bob.get("/popped-cookie/")
    assert b"alice-jwt" not in page.content, f"bob ({status(page)}) got alice's popped cookie"


# ------------------------------------------------------------------- threads, async


@pytest.mark.parametrize("url", ["/thread/session/", "/async/executor/", "/async/sync-to-async/"])
def test_session_read_in_another_thread_is_not_shared(url):
    alice = with_session(cart="alice-cart")
    assert b"alice-cart" in alice.get(url).content
    bob = with_session(cart="bob-cart")
    page = bob.get(url)
    assert b"alice-cart" not in page.content, f"bob ({status(page)}) got alice's cart ({url})"


def test_cookie_read_in_a_thread_is_not_shared():
    alice, bob = Client(), Client()
    alice.cookies["jwt"] = "alice-jwt"
    bob.cookies["jwt"] = "bob-jwt"
    assert b"alice-jwt" in alice.get("/thread/cookie/").content
    page = bob.get("/thread/cookie/")
    assert b"alice-jwt" not in page.content, f"bob ({status(page)}) got alice's cookie"


# ------------------------------------------------------------------- functions, user


def test_function_reading_request_cached_user_is_private():
    alice, bob = logged_in("alice"), logged_in("bob")
    assert alice.get("/fn/cached-user/").content == b"hello alice"
    page = bob.get("/fn/cached-user/")
    assert page.content == b"hello bob", f"bob got {page.content!r} (alice's _cached_user)"


def test_function_telling_users_apart_by_isinstance_is_private():
    alice = logged_in("alice")
    assert alice.get("/fn/nav-isinstance/").content == b"your account"
    page = Client().get("/fn/nav-isinstance/")
    assert page.content == b"sign in", f"an anonymous visitor got alice's nav {page.content!r}"


def test_function_given_the_visitors_user_with_a_key_that_is_not_unique_is_private():
    alice, bob = logged_in("alice"), logged_in("bob")
    assert alice.get("/fn/badge/").content == b"badge for alice"
    page = bob.get("/fn/badge/")
    assert page.content == b"badge for bob", f"bob got {page.content!r}"
