"""Hole: a view's own read of the CSRF cookie is not seen, so what depends on it is shared.

``privacy.WatchedCookies`` exempts ``CSRF_COOKIE_NAME`` (``_exempt_cookies``) so that the
CSRF middleware's and csrf decorators' reads do not count; but the exemption also hides
the *view's* reads. A page built from the visitor's CSRF cookie (handed to JavaScript, or
a form shown only to visitors who have the cookie) is stored without ``Vary: Cookie`` and
served to everyone: other visitors get the first visitor's cookie-derived content, and a
CSRF cookie Django would not have set (or none where Django would).
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial_csrf_cookie.views")]

SHOWN = re.compile(r'window.CSRF_COOKIE = "([^"]*)"')


def visitor() -> Client:
    return Client(enforce_csrf_checks=True)


def test_a_page_built_from_the_csrf_cookie_is_not_shared_with_another_visitor():
    """The attacker sends a malformed CSRF cookie of their choosing (Django replaces it with
    a fresh secret, so ``exposes`` does not recognise it); the page showing it is stored,
    and bob's JavaScript gets the attacker's value instead of his own cookie."""
    attacker, bob = visitor(), visitor()
    attacker.cookies["csrftoken"] = "ATTACKERxCHOSEN"
    assert SHOWN.search(attacker.get("/spa/").content.decode())[1] == "ATTACKERxCHOSEN"
    bob.get("/token/")  # bob has his own, valid CSRF cookie
    page = bob.get("/spa/")
    shown = SHOWN.search(page.content.decode())[1]
    assert shown == bob.cookies["csrftoken"].value, (
        f"bob ({status(page)}) was handed {shown!r}, the attacker's CSRF cookie, "
        "not his own (Django would show his)"
    )


def test_a_form_shown_only_to_visitors_with_the_cookie_is_not_shown_to_first_timers():
    """Django shows a first-time visitor the welcome text and sets no CSRF cookie; the hit
    serves the returning visitor's form and sets a cookie Django would not set."""
    alice, newcomer = visitor(), visitor()
    alice.get("/token/")
    assert b"csrfmiddlewaretoken" in alice.get("/returning/").content
    page = newcomer.get("/returning/")
    assert b"Welcome" in page.content, f"{status(page)}: a first-time visitor got the form"
    assert "csrftoken" not in page.cookies, "the hit set a CSRF cookie Django would not set"
