"""Holes: on a HIT the CSRF cookie is not what Django's CsrfViewMiddleware would set.

``thaw`` sets the cookie (``csrf.renew_cookie``) and clears ``CSRF_COOKIE_NEEDS_UPDATE``
at the cache decorator, i.e. *before* every middleware placed after CsrfViewMiddleware
and every view decorator placed above ``cache_page`` has seen the response; Django sets
it in CsrfViewMiddleware.process_response, *after* all of those. And a view's own CSRF
side effect (``rotate_token``) is not replayed on a hit.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client, override_settings

from django_smartcache.frontends.csrf import unmask
from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial_csrf_cookie.views")]

CSRF = "django.middleware.csrf.CsrfViewMiddleware"
HERE = "tests.adversarial_csrf_cookie.views"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')


def visitor() -> Client:
    return Client(enforce_csrf_checks=True)


def token_in(response) -> str:
    found = TOKEN.findall(response.content.decode())
    assert found, f"no CSRF token in the page: {response.content[:200]!r}"
    return found[0]


def after_csrf(middleware: str) -> list[str]:
    """MIDDLEWARE with ``middleware`` placed right after CsrfViewMiddleware."""
    stack = list(settings.MIDDLEWARE)
    stack.insert(stack.index(CSRF) + 1, middleware)
    return stack


def test_a_middleware_after_csrf_that_rebuilds_the_response_loses_the_cookie_on_a_hit():
    """Django sets the cookie on the response the inner middleware returned; the hit set it
    on the cached response that middleware then replaced, and cleared the flag, so the
    first-time visitor gets a form whose token has no cookie: the POST fails (403)."""
    with override_settings(MIDDLEWARE=after_csrf(f"{HERE}.RebuildingMiddleware")):
        alice, bob = visitor(), visitor()
        miss = alice.get("/form/")
        hit = bob.get("/form/")
        assert [status(miss), status(hit)] == ["MISS", "HIT"]
        assert "csrftoken" in miss.cookies, "Django's middleware set the cookie on the miss"
        assert "csrftoken" in hit.cookies, (
            "the hit's CSRF cookie was set before the inner middleware replaced the response "
            "(and the flag cleared), so Django's middleware never set it"
        )
        assert bob.post("/post/", {"csrfmiddlewaretoken": token_in(hit)}).status_code == 200


def test_locale_middleware_after_csrf_gets_the_same_vary_header_on_a_hit():
    """Django: LocaleMiddleware adds Accept-Language first, then CsrfViewMiddleware adds
    Cookie ("Accept-Language, Cookie"). The hit adds Cookie at the decorator, before
    LocaleMiddleware runs: "Cookie, Accept-Language"."""
    locale = "django.middleware.locale.LocaleMiddleware"
    with override_settings(MIDDLEWARE=after_csrf(locale), USE_I18N=True):
        miss = visitor().get("/form2/")
        hit = visitor().get("/form2/")
        assert [status(miss), status(hit)] == ["MISS", "HIT"]
        assert hit["Vary"] == miss["Vary"], f"hit Vary {hit['Vary']!r} != Django's {miss['Vary']!r}"


def test_a_project_csrf_decorator_above_cache_page_sets_its_own_cookie_on_a_hit():
    """With Django's middleware in MIDDLEWARE *and* a decorator made from a project's
    CsrfViewMiddleware subclass above cache_page, Django lets the decorator (inner) set
    the cookie its way. ``_cookie_arguments`` only checks that Django's class is listed, so
    the hit sets the default cookie and clears the flag: the subclass never runs."""
    alice, bob = visitor(), visitor()
    miss = alice.get("/project/form/")
    hit = bob.get("/project/form/")
    assert [status(miss), status(hit)] == ["MISS", "HIT"]
    assert miss.cookies["csrftoken"]["path"] == "/project/"
    assert hit.cookies["csrftoken"]["path"] == "/project/", (
        f"the hit set the cookie with path {hit.cookies['csrftoken']['path']!r}, "
        "not as the project's CSRF decorator sets it"
    )


def test_a_view_that_rotates_a_returning_visitors_secret_is_not_stored():
    """Had the view run, bob's secret would be rotated (a new cookie, a token of the new
    secret). A page computed while rotating a secret the visitor came with is not stored:
    every visitor runs the view, and their secret is rotated as Django rotates it."""
    alice, bob = visitor(), visitor()
    alice.get("/token/")
    bob.get("/token/")
    old = bob.cookies["csrftoken"].value
    assert status(alice.get("/login/")) == "MISS"
    page = bob.get("/login/")
    assert status(page) in ("MISS", "BYPASS"), "a page computed while rotating a secret was stored"
    new = page.cookies["csrftoken"].value
    assert unmask(token_in(page)) == new
    assert new != old, "the view rotates the CSRF secret, but bob kept his old one"


@pytest.mark.xfail(
    strict=True,
    reason="known limitation (docs: explanation/http-and-privacy.md): computed for a visitor "
    "with no CSRF secret yet, rotate_token() looks exactly like get_token() making a first "
    "secret, so the page is stored and a hit keeps a returning visitor's secret",
)
def test_a_view_that_rotates_the_csrf_secret_rotates_it_on_a_hit_too():
    """The same view, first computed for a first-time visitor (alice has no cookie)."""
    alice, bob = visitor(), visitor()
    bob.get("/token/")
    old = bob.cookies["csrftoken"].value
    assert status(alice.get("/login/")) == "MISS"
    page = bob.get("/login/")
    new = page.cookies["csrftoken"].value
    assert unmask(token_in(page)) == new
    assert new != old, "the view rotates the CSRF secret, but the hit kept bob's old one"
