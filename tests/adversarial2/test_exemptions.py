"""The user/session exemptions: a key that seems to name the visitor but does not."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.adversarial2.common import logged_in

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial2.urls")]


def test_fragment_varying_on_a_non_unique_email_does_not_share_one_users_box():
    """``email`` is in _USER_NAMES, yet Django's User.email is not unique (often "")."""
    alice, bob = logged_in("alice"), logged_in("bob")
    assert b"Signed in as alice" in alice.get("/frag/email-vary/").content
    page = bob.get("/frag/email-vary/")
    assert b"Signed in as bob" in page.content, f"bob's box says {page.content!r}"


def test_fragment_keyed_on_the_profile_owner_does_not_show_the_owner_view_to_others():
    """vary_on owner.pk names the *shown* user; it only equals the viewer on one's own page."""
    alice = logged_in("alice", email="alice@private.example")
    bob = logged_in("bob")
    pk = User.objects.get(username="alice").pk
    own = alice.get(f"/profile/{pk}/")
    assert b"alice@private.example" in own.content  # alice sees her own private e-mail
    page = bob.get(f"/profile/{pk}/")
    assert b"alice@private.example" not in page.content, (
        "bob, viewing alice's profile, got alice's owner-only view (her private e-mail)"
    )
    anon = Client().get(f"/profile/{pk}/")
    assert b"Edit your profile" not in anon.content, "an anonymous visitor got alice's edit view"


def test_fragment_varying_on_the_user_does_not_mix_anonymous_and_a_user_named_anonymoususer():
    """str(AnonymousUser()) == "AnonymousUser", which is also a valid username."""
    from django.contrib.auth.models import AnonymousUser
    from django.template import Context, Template
    from django.test import RequestFactory

    template = Template(
        '{% load smartcache %}{% smartcache 60 "me" request.user %}'
        "{% if request.user.is_authenticated %}Account of {{ request.user.email }}"
        "{% else %}Sign in{% endif %}{% endsmartcache %}"
    )
    mallory = User.objects.create_user("AnonymousUser", password="pw", email="m@evil.example")
    mal_request = RequestFactory().get("/")
    mal_request.user = mallory
    assert "m@evil.example" in template.render(Context({"request": mal_request}))
    anon_request = RequestFactory().get("/")
    anon_request.user = AnonymousUser()
    shown = template.render(Context({"request": anon_request}))
    assert "Sign in" in shown, f"an anonymous visitor got the account box of a user: {shown!r}"
