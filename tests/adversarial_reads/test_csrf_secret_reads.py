"""Hole: the view's read of its visitor's CSRF secret in ``request.META["CSRF_COOKIE"]``.

``CsrfViewMiddleware.process_request`` puts the visitor's secret (from the cookie) in
``META["CSRF_COOKIE"]``. ``WatchedMeta`` only watches ``HTTP_COOKIE``, and ``get_token``
is seen only through ``CSRF_COOKIE_NEEDS_UPDATE``; so a page that branches on whether the
visitor has a CSRF secret (the ``META`` twin of ``"csrftoken" in request.COOKIES``, which
*is* counted) records nothing and is shared.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import status

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial_reads.views")]


def test_a_page_branching_on_the_csrf_secret_in_meta_is_not_shared():
    alice, newcomer = Client(), Client()
    alice.get("/token/")
    assert alice.get("/meta_secret/").content == b"HAS"
    page = newcomer.get("/meta_secret/")
    assert page.content == b"NONE", f"{status(page)}: the newcomer got alice's answer"
