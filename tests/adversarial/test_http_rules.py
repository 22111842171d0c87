"""HTTP rules of page caching: Vary, language, HEAD, Age."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial.urls")]


def test_variant_keys_of_two_different_vary_sets_do_not_collide():
    c = Client()
    first = c.get("/vary/switch/", HTTP_X_A="v")  # Vary: X-A, stored for X-A: v
    assert first.content == b"A=v B=None"
    c.get("/vary/switch/", HTTP_X_B="w")  # Vary: X-B now, manifest rewritten
    third = c.get("/vary/switch/", HTTP_X_B="v")  # X-B: v, no X-A
    assert third.content == b"A=None B=v", (
        f"served ({status(third)}) the response made for X-A: v to a request with X-B: v"
    )


def test_empty_vary_header_is_not_an_absent_one():
    c = Client()
    assert c.get("/vary/plain/").content == b"X-Flag=None"
    empty = c.get("/vary/plain/", HTTP_X_FLAG="")
    assert empty.content == b"X-Flag=''", f"{status(empty)}: {empty.content!r}"
    absent = c.get("/vary/plain/")
    assert status(absent) == "HIT" and absent.content == b"X-Flag=None"


@override_settings(
    MIDDLEWARE=[
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ],
    LANGUAGES=[("en", "English"), ("fr", "French")],
    LANGUAGE_CODE="en",
)
def test_key_honours_the_active_language():
    en = Client().get("/lang/", HTTP_ACCEPT_LANGUAGE="en")
    fr = Client().get("/lang/", HTTP_ACCEPT_LANGUAGE="fr")
    assert en.content == b"lang=en"
    assert fr.content == b"lang=fr", f"{status(fr)}: {fr.content!r}"
    en2 = Client().get("/lang/", HTTP_ACCEPT_LANGUAGE="en")
    assert status(en2) == "HIT" and en2.content == b"lang=en"


def test_head_is_answered_from_the_get_entry_and_a_head_miss_stores_nothing():
    c = Client()
    head = c.head("/vary/plain/")
    assert status(head) == "MISS"
    get = c.get("/vary/plain/")
    assert status(get) == "MISS", "a HEAD miss stored an entry"
    head2 = c.head("/vary/plain/")
    assert status(head2) == "HIT" and head2.has_header("Age")


def test_hits_carry_age():
    c = Client()
    c.get("/vary/plain/")
    hit = c.get("/vary/plain/")
    assert status(hit) == "HIT" and hit["Age"].isdigit()
