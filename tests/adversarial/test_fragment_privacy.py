"""Fragments and functions: the private mark, keyed_on, and nesting."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client, override_settings

from tests.adversarial.common import logged_in, with_session
from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial.urls")]


def test_fragment_keyed_on_is_authenticated_does_not_share_one_users_name_with_another():
    """vary_on user.is_authenticated reads the user but does not tell users apart."""
    alice, bob = logged_in("alice"), logged_in("bob")
    assert b"Signed in as alice" in alice.get("/frag/auth-state/").content
    page = bob.get("/frag/auth-state/")
    assert b"alice" not in page.content, "bob's header says he is alice"


def test_function_keyed_on_is_authenticated_does_not_share_one_users_name():
    alice, bob = logged_in("alice"), logged_in("bob")
    assert alice.get("/fn/greeting-by-state/").content == b"hello alice"
    page = bob.get("/fn/greeting-by-state/")
    assert page.content == b"hello bob", f"bob got {page.content!r}"


def test_fragment_keyed_on_one_session_value_does_not_share_another():
    alice = with_session(theme="dark", cart="alice-cart")
    bob = with_session(theme="dark", cart="bob-cart")
    assert b"alice-cart" in alice.get("/frag/session-vary/").content
    page = bob.get("/frag/session-vary/")
    assert b"alice-cart" not in page.content, "bob's fragment shows alice's cart"


def test_fragment_reading_a_user_passed_through_the_context_is_private():
    alice, bob = logged_in("alice"), logged_in("bob")
    assert b"Hello alice" in alice.get("/frag/user-in-context/").content
    page = bob.get("/frag/user-in-context/")
    assert b"Hello bob" in page.content, f"bob got {page.content!r}"


@override_settings(SMARTCACHE={"CACHE_AUTHENTICATED": True})
def test_fragment_reading_a_context_user_in_a_per_user_cached_page_is_private():
    alice, bob = logged_in("alice"), logged_in("bob")
    assert b"Hello alice" in alice.get("/frag/cached-user-in-context/").content
    page = bob.get("/frag/cached-user-in-context/")
    assert b"Hello bob" in page.content, f"bob ({status(page)}) got {page.content!r}"


@override_settings(SMARTCACHE={"CACHE_AUTHENTICATED": True})
def test_auth_state_fragment_in_a_cached_page_anonymous_then_users():
    anon, alice, bob = Client(), logged_in("alice"), logged_in("bob")
    assert b"Sign in" in anon.get("/frag/cached-page-auth/").content
    assert b"Hi alice" in alice.get("/frag/cached-page-auth/").content
    page = bob.get("/frag/cached-page-auth/")
    assert b"Hi bob" in page.content, f"bob ({status(page)}) got {page.content!r}"
    again = Client().get("/frag/cached-page-auth/")
    assert b"Sign in" in again.content


@override_settings(SMARTCACHE={"CACHE_AUTHENTICATED": True})
def test_auth_state_fragment_logged_in_first_then_anonymous():
    alice = logged_in("alice")
    assert b"Hi alice" in alice.get("/frag/cached-page-auth/").content
    page = Client().get("/frag/cached-page-auth/")
    assert b"alice" not in page.content


def test_perms_in_a_fragment_are_private():
    editor = logged_in("editor")
    from django.contrib.auth.models import User

    User.objects.get(username="editor").user_permissions.add(
        Permission.objects.get(codename="change_product", content_type__app_label="testapp")
    )
    assert b"EDIT-BUTTON" in editor.get("/frag/perms/").content
    page = logged_in("reader").get("/frag/perms/")
    assert b"EDIT-BUTTON" not in page.content, "a reader got the editor's edit button"
    anon = Client().get("/frag/perms/")
    assert b"EDIT-BUTTON" not in anon.content


def test_messages_iterated_in_a_cached_function_are_private():
    alice = Client()
    alice.get("/messages/queue/?text=alice-secret")
    assert alice.get("/fn/notices/").content == b"alice-secret"
    page = Client().get("/fn/notices/")
    assert page.content == b"none", f"bob got {page.content!r}"
