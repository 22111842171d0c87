"""Pages: private data reaching a shared page entry through channels the watch does not see."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.adversarial.common import logged_in, with_session
from tests.helpers import status
from tests.views import CALLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial.urls")]


def test_session_key_rendered_in_a_page_is_never_shown_to_another_visitor():
    alice = with_session(cart="alice-cart")
    alice_key = alice.cookies[settings.SESSION_COOKIE_NAME].value
    first = alice.get("/session-key/")
    assert alice_key.encode() in first.content  # the channel is exercised
    bob = Client().get("/session-key/")
    assert alice_key.encode() not in bob.content, (
        f"bob ({status(bob)}) got alice's session id: session hijack"
    )


def test_content_derived_from_a_cookie_is_not_shared():
    alice = Client()
    alice.cookies["jwt"] = "alice-jwt"
    assert b"alice-jwt" in alice.get("/cookie/").content
    bob = Client()
    bob.cookies["jwt"] = "bob-jwt"
    page = bob.get("/cookie/")
    assert b"alice-jwt" not in page.content, f"bob ({status(page)}) got alice's cookie-derived page"


def test_session_read_through_session_store_directly_is_not_shared():
    alice = with_session(cart="alice-cart")
    assert b"alice-cart" in alice.get("/session-store/").content
    bob = with_session(cart="bob-cart")
    page = bob.get("/session-store/")
    assert b"alice-cart" not in page.content, f"bob ({status(page)}) got alice's cart"


@pytest.mark.parametrize(
    "ours",
    [True, False],
    ids=["with SmartcacheMiddleware", "without: the session's accessed flag tells"],
)
def test_session_value_read_by_a_middleware_before_the_view_is_not_shared(ours):
    middleware = [m for m in settings.MIDDLEWARE if ours or "smartcache" not in m]
    with override_settings(MIDDLEWARE=[*middleware, "tests.adversarial.views.StashCartMiddleware"]):
        _stashed_cart_is_not_shared()


def _stashed_cart_is_not_shared():
    alice = with_session(cart="alice-cart")
    assert b"alice-cart" in alice.get("/stashed-cart/").content
    bob = with_session(cart="bob-cart")
    page = bob.get("/stashed-cart/")
    assert b"alice-cart" not in page.content, f"bob ({status(page)}) got alice's cart"


def test_message_count_shown_without_iterating_is_not_shared():
    alice = Client()
    alice.get("/messages/queue/?text=secret-for-alice")
    first = alice.get("/message-count/")
    assert b"You have 1 notifications" in first.content
    bob = Client()
    page = bob.get("/message-count/")
    assert b"You have 1" not in page.content, (
        f"bob ({status(page)}) was told about alice's pending messages"
    )


def test_a_page_whose_view_queued_a_message_is_not_stored():
    """MessageMiddleware will set a cookie for it: a response that sets a cookie."""
    alice = Client()
    first = alice.get("/adds-message/")
    assert "messages" in first.cookies  # the channel is exercised
    bob = Client()
    second = bob.get("/adds-message/")
    assert status(second) != "HIT", "a response that set the messages cookie was stored"
    assert "messages" in second.cookies, "bob never got the message the view queues"


@pytest.mark.parametrize(
    "url", ["/cookie/headers-kwarg/?who=alice", "/cookie/setdefault/?who=alice", "/cookie/deleted/"]
)
def test_cookie_in_any_form_is_never_stored(url):
    Client().get(url)
    second = Client().get(url)
    assert status(second) != "HIT", f"{url}: a response that sets a cookie was stored"


def test_cookie_set_in_a_post_render_callback_is_never_stored():
    first = Client().get("/cookie/callback/")
    assert "seen" in first.cookies
    second = Client().get("/cookie/callback/")
    assert status(second) != "HIT"
    assert "seen" in second.cookies


def test_cbv_reading_the_session_in_its_template_is_not_shared():
    alice = with_session(cart="alice-cart")
    assert b"alice-cart" in alice.get("/cbv/session/").content
    bob = with_session(cart="bob-cart")
    page = bob.get("/cbv/session/")
    assert page.content == b"cart=bob-cart", f"bob ({status(page)}) got {page.content!r}"


# --------------------------------------------------------------------------- authenticated users


def test_authenticated_users_bypass_by_default():
    Client().get("/whoami/")
    alice = logged_in("alice")
    page = alice.get("/whoami/")
    assert status(page) == "BYPASS" and page.content == b"user=alice"


@override_settings(SMARTCACHE={"CACHE_AUTHENTICATED": True})
def test_cache_authenticated_keys_per_user():
    alice, bob = logged_in("alice"), logged_in("bob")
    anon = Client()
    assert alice.get("/whoami/").content == b"user=alice"
    assert bob.get("/whoami/").content == b"user=bob"
    assert anon.get("/whoami/").content == b"user=anon"
    again = alice.get("/whoami/")
    assert (status(again), again.content) == ("HIT", b"user=alice")


# --------------------------------------------------------------------------- Authorization


def test_proxy_authorization_response_is_not_shared():
    alice = Client().get("/proxy-auth/", HTTP_PROXY_AUTHORIZATION="Basic alice")
    assert alice.content == b"account of Basic alice"
    bob = Client().get("/proxy-auth/")
    assert b"alice" not in bob.content, f"bob ({status(bob)}) got the proxy-authorized response"


def test_lowercase_authorization_header_counts():
    c = Client()
    c.get("/proxy-auth/", headers={"authorization": "Token alice-secret"})
    again = c.get("/proxy-auth/", headers={"authorization": "Token alice-secret"})
    assert status(again) != "HIT"


def test_fragment_in_a_public_page_for_a_token_does_not_leak_the_token_to_another_token():
    alice = Client().get("/auth-public-fragment/", HTTP_AUTHORIZATION="Token alice-secret")
    assert b"alice-secret" in alice.content
    bob = Client().get("/auth-public-fragment/", HTTP_AUTHORIZATION="Token bob-secret")
    assert b"alice-secret" not in bob.content, "bob's page embedded alice's credentials"


# --------------------------------------------------------------------------- async


def test_async_view_reading_the_session_is_not_shared():
    alice = with_session(cart="alice-cart")
    assert alice.get("/async/session/").content == b"cart=alice-cart"
    bob = with_session(cart="bob-cart")
    page = bob.get("/async/session/")
    assert page.content == b"cart=bob-cart", f"bob ({status(page)}) got {page.content!r}"


def test_async_view_using_auser_for_a_logged_in_user_bypasses():
    Client().get("/async/user/")
    alice = logged_in("alice")
    page = alice.get("/async/user/")
    assert page.content == b"user=alice", f"alice ({status(page)}) got {page.content!r}"


def test_async_view_with_auser_anonymous_is_cached():
    """Cached by default: an anonymous async view awaiting request.auser() is still cacheable."""
    Client().get("/async/user/")
    second = Client().get("/async/user/")
    assert status(second) == "HIT", f"never cached: {status(second)}"
    assert CALLS["async_user_page"] == 1


def test_session_key_read_in_view_code_is_never_shown_to_another_visitor():
    alice = with_session(cart="alice-cart")
    alice_key = alice.cookies[settings.SESSION_COOKIE_NAME].value
    assert alice_key.encode() in alice.get("/session-key-view/").content
    bob = Client().get("/session-key-view/")
    assert alice_key.encode() not in bob.content, (
        f"bob ({status(bob)}) got alice's session id: session hijack"
    )


def test_fragment_in_a_refused_token_response_is_not_served_to_others():
    """The page is not stored (Authorization), but the fragment inside it was."""
    alice = Client().get("/private-api-fragment/", HTTP_AUTHORIZATION="Token alice-secret")
    assert b"alice-secret" in alice.content
    anon = Client().get("/private-api-fragment/")
    assert b"alice-secret" not in anon.content, "an anonymous visitor got alice's credentials"


@override_settings(CSRF_USE_SESSIONS=True)
def test_pages_still_cache_with_csrf_use_sessions_and_tokens_stay_per_visitor():

    alice, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    a1 = alice.get("/plain-form/")
    b1 = bob.get("/plain-form/")
    a2 = alice.get("/plain-form/")
    import re

    tok = re.compile(rb'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')
    for client, page in ((alice, a1), (bob, b1), (alice, a2)):
        token = tok.search(page.content).group(1).decode()
        assert client.post("/post/", {"csrfmiddlewaretoken": token}).status_code == 200, (
            f"{status(page)} page's token fails the CSRF check for its visitor"
        )
    assert b1.content != a1.content or status(b1) != "HIT"
    assert status(a2) == "HIT", (
        "pages with forms do not cache with CSRF_USE_SESSIONS: "
        f"{[status(a1), status(b1), status(a2)]}"
    )


@override_settings(
    MIDDLEWARE=[*settings.MIDDLEWARE, "tests.adversarial.views.CookieTokenUserMiddleware"]
)
def test_a_user_authenticated_by_another_lazy_middleware_bypasses():
    from django.contrib.auth.models import User

    User.objects.create_user("alice", password="pw")
    alice = Client()
    alice.cookies["access_token"] = "alice"
    first = alice.get("/whoami-token/")
    assert first.content == b"user=alice"
    bob = Client().get("/whoami-token/")
    assert bob.content == b"user=anon", f"an anonymous visitor ({status(bob)}) got alice's page"
    assert status(first) == "BYPASS", f"an authenticated user was cached ({status(first)})"


@override_settings(CSRF_USE_SESSIONS=True)
def test_a_plain_page_still_caches_with_csrf_use_sessions():
    Client().get("/vary/plain/")
    second = Client().get("/vary/plain/")
    assert status(second) == "HIT", f"CSRF_USE_SESSIONS turned off page caching: {status(second)}"
