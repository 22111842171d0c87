"""Holes: reads of the whole ``request.COOKIES`` that ``WatchedCookies`` does not override.

``standins._watched_dict`` records on ``__getitem__/get/__contains__/pop/setdefault`` and
``__iter__/keys/values/items/copy/popitem/__eq__`` only. ``len()``, ``bool()``, ``repr()``
/ ``str()`` (so ``{{ request.COOKIES }}`` and ``{% if request.COOKIES %}``) and
``dict.get(cookies, k)`` go to the C slots of ``dict`` and record nothing, for *every*
cookie (not only the exempt ones): the page is stored without ``Vary: Cookie`` and
served to visitors with other cookies (or none).
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial_reads.views")]


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/len/", id="len(request.COOKIES)"),
        pytest.param("/bool/", id="if request.COOKIES"),
    ],
)
def test_a_page_shown_only_to_visitors_with_cookies_is_not_shared(url):
    alice, newcomer = Client(), Client()
    alice.cookies["theme"] = "dark"
    assert alice.get(url).content == b"HAS"
    page = newcomer.get(url)
    got = f"{url}: newcomer without cookies got {page.content!r} ({status(page)})"
    assert page.content == b"NONE", got


@pytest.mark.parametrize("url", ["/repr/", "/t/dump/"])
def test_a_page_showing_the_cookies_shows_each_visitor_their_own(url):
    """``repr(request.COOKIES)`` / ``{{ request.COOKIES }}``: alice's cookie values leak."""
    alice, bob = Client(), Client()
    alice.cookies["theme"] = "alice-secret-value"
    assert b"alice-secret-value" in alice.get(url).content
    page = bob.get(url)
    assert b"alice-secret-value" not in page.content, (
        f"{url}: bob ({status(page)}) was shown alice's cookies: {page.content!r}"
    )


@pytest.mark.xfail(
    strict=True,
    reason="known limitation (docs: explanation/http-and-privacy.md): dict's own methods "
    "called unbound on request.COOKIES (dict.get(request.COOKIES, name)) bypass the "
    "recording copy; no dict subclass can see them",
)
def test_an_unbound_dict_get_of_the_csrf_cookie_is_counted():
    """``dict.get(request.COOKIES, name)`` bypasses the override (low: deliberate-looking code)."""
    alice, newcomer = Client(), Client()
    alice.get("/token/")
    assert alice.get("/unbound_get/").content == b"HAS"
    page = newcomer.get("/unbound_get/")
    assert page.content == b"NONE", f"{status(page)}: newcomer got alice's answer"
