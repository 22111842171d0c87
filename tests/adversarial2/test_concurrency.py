"""Two visitors filling one key at once; pass markers."""

from __future__ import annotations

import threading

import pytest
from django.test import Client

from tests.adversarial2.common import with_session
from tests.helpers import status
from tests.views import PAUSE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.adversarial2.urls")]


def _race(url: str):
    alice = with_session(cart="alice-cart")
    bob = with_session(cart="bob-cart")
    PAUSE.enabled = True
    got = {}
    first = threading.Thread(target=lambda: got.update(alice=alice.get(url)))
    first.start()
    assert PAUSE.has_read.wait(5), "alice's computation never started"
    PAUSE.enabled = False
    second = threading.Thread(target=lambda: got.update(bob=bob.get(url)))
    second.start()
    PAUSE.resume.set()
    first.join(10)
    second.join(10)
    return got


def test_page_filled_by_two_visitors_at_once_is_not_shared():
    got = _race("/slow-session/")
    assert b"alice-cart" in got["alice"].content
    page = got["bob"]
    assert b"alice-cart" not in page.content, f"bob ({status(page)}) waited for alice's page"


def test_fragment_filled_by_two_visitors_at_once_is_not_shared():
    got = _race("/frag/slow/")
    assert b"alice-cart" in got["alice"].content
    assert b"alice-cart" not in got["bob"].content, "bob waited for, and got, alice's fragment"


def test_pass_marker_does_not_hand_the_private_copy_on():
    alice = with_session(cart="alice-cart")
    alice.get("/slow-session/")
    page = Client().get("/slow-session/")
    assert page.content == b"cart=empty", f"a new visitor ({status(page)}) got {page.content!r}"
