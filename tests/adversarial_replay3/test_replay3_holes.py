"""Third adversarial pass on ``LocalHitMiddleware``: each ``test_hole_*`` fails while the
hole is open (the stack below would answer differently from the memory)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.test.client import FakePayload

from tests.adversarial_replay.test_replay_holes import BELOW
from tests.adversarial_replay2.common import replaying, stack

pytestmark = [pytest.mark.not_on_cluster, pytest.mark.django_db]

VIEWS = "tests.adversarial_replay3.views3"


def test_hole_asgi_get_body_without_content_length(clean, shop):
    """Over ASGI a GET may carry a body with no Content-Length (HTTP/2, chunked), and
    Django reads it (request.body; WSGI reads none without Content-Length): the identity
    only refuses a non-zero CONTENT_LENGTH. Visitor A sends the key in the body and
    fills the memory; visitor B sends no key: the stack refuses B (403), the memory
    hands B the keyed page."""
    scope = {"method": "GET", "path": "/where/", "server": ("127.0.0.1", "80")}
    with replaying(stack("tests.adversarial_replay3.views3.BodyKeyMiddleware"), urlconf=VIEWS):

        def ask(body, query=""):  # a fresh header list: the client appends its cookie to it
            return async_to_sync(AsyncClient().request)(
                **scope,
                headers=[(b"host", b"testserver")],
                query_string=query,
                _body_file=FakePayload(body),
            )

        for _ in range(6):  # a request with a body is never answered from memory
            seen = len(BELOW)
            assert ask(b"key=s3cret").status_code == 200
            assert len(BELOW) == seen + 1
        control = ask(b"", "other=1")
        assert control.status_code == 403  # the stack
        assert ask(b"").status_code == 403
