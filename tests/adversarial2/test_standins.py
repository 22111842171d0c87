"""Stand-ins must not break ordinary code that uses the request's user, session, cookies."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from tests.adversarial2.common import logged_in, with_session
from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial2.urls")]


def test_copy_of_the_session_in_a_cached_view_works():
    page = with_session(cart="alice-cart").get("/copy-session/")
    assert page.status_code == 200, "copy.copy(request.session) failed inside cache_page"


def test_deepcopy_of_the_user_in_a_cached_view_works():
    page = Client().get("/deepcopy-user/")
    assert page.status_code == 200 and b"anon=True" in page.content


def test_pickling_the_user_in_a_cached_view_works():
    page = Client().get("/pickle-user/")
    assert page.status_code == 200 and b"anon=True" in page.content


def test_comparing_and_hashing_the_user_in_a_cached_view_works():
    from django.test import override_settings

    with override_settings(SMARTCACHE={"CACHE_AUTHENTICATED": True}):
        alice = logged_in("alice")
        page = alice.get("/compare-user/")
    assert page.content == b"first=True hash=True", f"user == / in / hash broke: {page.content!r}"


def test_login_inside_a_cached_view_logs_in_and_is_not_shared():
    User.objects.create_user("alice", password="pw")
    alice = Client()
    page = alice.get("/magic-login/?u=alice")
    assert page.content == b"welcome alice"
    assert settings.SESSION_COOKIE_NAME in page.cookies, "login() did not set the session cookie"
    again = Client().get("/magic-login/?u=alice")
    assert status(again) != "HIT", "a magic-link login response was served from the cache"
    assert settings.SESSION_COOKIE_NAME in again.cookies, "the second visitor was not logged in"
    assert again.cookies[settings.SESSION_COOKIE_NAME].value != (
        page.cookies[settings.SESSION_COOKIE_NAME].value
    ), "two visitors got one session"


def test_logout_inside_a_cached_view_logs_out():
    alice = logged_in("alice")
    page = alice.get("/logout/")
    assert page.status_code == 200
    # logout() flushes the session: the user is anonymous from now on
    who = alice.get("/logout/")
    assert b"now anonymous" in who.content
    from django.contrib.auth import SESSION_KEY

    assert SESSION_KEY not in alice.session, "logout() inside cache_page did not log out"


def test_cycle_key_inside_a_cached_view_is_kept():
    alice = with_session(cart="alice-cart")
    before = alice.cookies[settings.SESSION_COOKIE_NAME].value
    page = alice.get("/cycle/")
    assert page.status_code == 200
    after = page.cookies.get(settings.SESSION_COOKIE_NAME)
    assert after is not None and after.value != before, "cycle_key() did not give a new session"
    assert alice.session.get("cart") == "alice-cart", "cycle_key() lost the session data"


def test_mutating_request_cookies_in_a_cached_view_is_seen_after_it():
    page = Client().get("/mutate-cookies/")
    assert page["X-Seen"] == "yes", "a change to request.COOKIES made by the view was undone"


def test_messages_shown_in_a_cached_page_are_consumed_and_not_shared():
    alice = Client()
    alice.get("/messages/queue/?text=for-alice")
    assert alice.get("/show-messages/").content == b"for-alice"
    again = alice.get("/show-messages/")
    assert again.content == b"none", f"alice's message was shown twice: {again.content!r}"
    bob = Client().get("/show-messages/")
    assert b"for-alice" not in bob.content, f"bob ({status(bob)}) got alice's message"
