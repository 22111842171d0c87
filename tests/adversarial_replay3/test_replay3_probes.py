"""Probes of ``LocalHitMiddleware`` that held in the third adversarial pass (each
should pass)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.adversarial_replay2.common import replaying, skipped, warm

pytestmark = [pytest.mark.not_on_cluster, pytest.mark.django_db]

VIEWS = "tests.adversarial_replay3.views3"


def test_probe_script_url_changes_the_path_but_not_the_identity(clean, shop):
    """Django takes the script prefix from SCRIPT_URL (or REDIRECT_URL) when the server
    sets it (Apache mod_rewrite: two public prefixes rewritten to one app), not from
    SCRIPT_NAME: SCRIPT_URL is a known environ key, so allowed, but not part of the
    identity. Visitor A on /v1/where/ fills the memory; visitor B on /v2/where/ (same
    PATH_INFO, SCRIPT_NAME, headers) is not answered from memory: WSGIRequest writes the
    computed script name into META['SCRIPT_NAME'], which is in the identity."""
    with replaying(urlconf=VIEWS):
        a = Client()
        first = warm(a, "/where/", SCRIPT_URL="/v1/where/")
        assert b"path=/v1/where/" in first.content
        control = Client().get("/where/?other=1", SCRIPT_URL="/v2/where/")  # the stack
        assert b"path=/v2/where/" in control.content
        b, was_skipped = skipped(Client(), "/where/", SCRIPT_URL="/v2/where/")
        assert b.content.startswith(b"path=/v2/where/") and not was_skipped


def test_probe_force_script_name_changed_in_place(clean, shop):
    """FORCE_SCRIPT_NAME (read by the handler, above every middleware, to make
    request.path and the script prefix reverse() uses) is not in ``sameness.seen`` and
    held: WSGIRequest writes the script name into META['SCRIPT_NAME']."""
    with replaying(urlconf=VIEWS):
        saved = settings.FORCE_SCRIPT_NAME
        try:
            warm(Client(), "/where/")
            settings.FORCE_SCRIPT_NAME = "/shop"
            control = Client().get("/where/?other=1")
            assert b"path=/shop/where/" in control.content
            answer, was_skipped = skipped(Client(), "/where/")
            assert b"path=/shop/where/" in answer.content, (answer.content, was_skipped)
        finally:
            settings.FORCE_SCRIPT_NAME = saved
