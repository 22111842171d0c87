"""Holes: a view's read of the CSRF / messages cookie made *through Django code* is not counted.

``privacy._counted_cookie`` exempts ``CSRF_COOKIE_NAME`` and ``messages`` whenever
``standins._by_the_framework`` finds the nearest non-stand-in frame in a module named
``django.*``. That frame is the template engine (``django.template.base.Variable.
_resolve_lookup`` does ``current[bit]``) for every ``{{ request.COOKIES.csrftoken }}``, and
``django.http.request`` for ``request.get_signed_cookie()``; a ``functools.partial`` (C, no
frame) called by the template engine is attributed to the engine too. The view's template
*is* the view: the read is not counted, the page is stored without ``Vary: Cookie`` and
served to every visitor. Django would have answered each visitor from their own cookie.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial_reads.views")]

SHOWN = re.compile(r'window.CSRF_COOKIE = "([^"]*)"')


def returning_then_newcomer(url):
    alice, newcomer = Client(), Client()
    alice.get("/token/")  # alice has a CSRF cookie; the newcomer has none
    assert "csrftoken" in alice.cookies
    first = alice.get(url)
    assert first.content.strip() == b"HAS", first.content
    second = newcomer.get(url)
    assert second.content.strip() == b"NONE", (
        f"{url}: the newcomer (no CSRF cookie) got {second.content!r} ({status(second)}), "
        f"computed from alice's cookie ({status(first)}); Django would show NONE"
    )


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/t/lookup/", id="render-template-request.COOKIES.csrftoken"),
        pytest.param("/cbv/", id="TemplateView-template-request.COOKIES.csrftoken"),
        pytest.param("/t/cookies_var/", id="COOKIES-handed-to-template-as-cookies"),
        pytest.param("/t/partial/", id="functools.partial-of-COOKIES.get-called-by-template"),
        pytest.param("/signed/", id="request.get_signed_cookie"),
    ],
)
def test_a_csrf_cookie_read_made_through_django_code_is_counted(url):
    returning_then_newcomer(url)


def test_a_smartcache_fragment_reading_the_csrf_cookie_is_not_shared():
    """Same mechanism inside ``{% smartcache %}`` (the fragment key never names a visitor)."""
    returning_then_newcomer("/frag/")


def test_a_template_showing_the_csrf_cookie_shows_each_visitor_their_own():
    """The template twin of tests/adversarial_csrf_cookie's spa_shell: an attacker's
    malformed cookie (Django replaces the secret, so ``exposes`` does not recognise the
    value) is stored in the page and handed to bob's JavaScript."""
    attacker, bob = Client(), Client()
    attacker.cookies["csrftoken"] = "ATTACKERxCHOSEN"
    assert SHOWN.search(attacker.get("/t/show/").content.decode())[1] == "ATTACKERxCHOSEN"
    bob.get("/token/")
    page = bob.get("/t/show/")
    shown = SHOWN.search(page.content.decode())[1]
    assert shown == bob.cookies["csrftoken"].value, (
        f"bob ({status(page)}) was handed {shown!r}, the attacker's cookie"
    )


def test_a_badge_shown_from_the_messages_cookie_is_not_shared():
    """``{% if request.COOKIES.messages %}``: the messages cookie is exempt the same way."""
    alice, newcomer = Client(), Client()
    alice.cookies["messages"] = "pending"
    assert alice.get("/t/messages/").content.strip() == b"HAS"
    page = newcomer.get("/t/messages/")
    assert page.content.strip() == b"NONE", f"{status(page)}: newcomer got alice's badge"
