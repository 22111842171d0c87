"""Second adversarial pass on ``LocalHitMiddleware``: each ``test_hole_*`` fails while the
hole is open (the stack below would answer differently from the memory)."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from django.conf import settings
from django.test import Client

from django_smartcache.frontends import replay
from tests.adversarial_replay2.common import ME, replaying, skipped, stack, warm

pytestmark = [pytest.mark.not_on_cluster, pytest.mark.django_db]


def test_hole_gate_decorator_with_wraps_is_taken_for_the_resolved_view(
    clean, shop, django_capture_on_commit_callbacks
):
    """A decorator that gates a cached view on a row (get_object_or_404), written with
    functools.wraps, copies the view's ``smartcache`` attribute: ``_resolved`` takes the
    gate for the page itself. After a committed delete of the row the stack answers
    404, the memory keeps answering the page (the fixed "uncached view gating a cached
    page" hole, reopened through a decorator)."""
    from tests.testapp.models import Sku

    with replaying():
        Sku.objects.create(code="s1", price=1)
        client = Client()
        for _ in range(6):  # the gate is what the URL resolved to, not the page: never skipped
            assert not skipped(client, "/sku/s1/")[1]
        with django_capture_on_commit_callbacks(execute=True):
            Sku.objects.filter(code="s1").delete()
        assert client.get("/sku/s1/?other=1").status_code == 404  # the stack
        assert client.get("/sku/s1/").status_code == 404


def _in_place(name, value, url, headers=None):
    """Warm ``url``, set ``name`` in place (no setting_changed), and return the stack's
    answer (another query string) and the answer to the remembered request. A stray push
    (another run's FLUSHDB on the server) only delays the hole: tried up to 5 times."""
    headers = headers or {}
    client = Client()
    saved = getattr(settings, name)
    sep = "&" if "?" in url else "?"
    try:
        for _ in range(5):
            setattr(settings, name, saved)
            warm(client, url, **headers)
            setattr(settings, name, value)
            answer, was_skipped = skipped(client, url, **headers)
            if was_skipped:
                break
        control = client.get(f"{url}{sep}other=1", **headers)  # the stack
        return control, answer
    finally:
        setattr(settings, name, saved)


def test_hole_prepend_www_changed_in_place(clean, shop):
    """PREPEND_WWW set in place: CommonMiddleware (below) now redirects to www., the
    memory keeps answering the page on the bare host."""
    with replaying(ALLOWED_HOSTS=["shop.example", "www.shop.example"]):
        control, answer = _in_place("PREPEND_WWW", True, "/catalog/", {"HTTP_HOST": "shop.example"})
        assert control.status_code == 301, control.status_code
        assert answer.status_code == 301, answer.status_code


def test_hole_disallowed_user_agents_changed_in_place(clean, shop):
    """A bot blocked by DISALLOWED_USER_AGENTS set in place: CommonMiddleware refuses
    it (403), the memory hands it the page."""
    import re

    with replaying():
        control, answer = _in_place(
            "DISALLOWED_USER_AGENTS",
            [re.compile(r"BadBot")],
            "/catalog/",
            {"HTTP_USER_AGENT": "BadBot/1.0"},
        )
        assert control.status_code == 403, control.status_code
        assert answer.status_code == 403, answer.status_code


def test_hole_language_code_changed_in_place(clean, shop):
    """With LocaleMiddleware, a visitor without Accept-Language gets LANGUAGE_CODE's
    page. LANGUAGE_CODE set in place: the stack answers the German page, the memory
    the English one."""
    locale_stack = stack(after_common=("django.middleware.locale.LocaleMiddleware",))
    languages = [("en", "English"), ("de", "German")]
    with replaying(locale_stack, LANGUAGE_CODE="en", LANGUAGES=languages):
        control, answer = _in_place("LANGUAGE_CODE", "de", "/lang/")
        assert control.content == b"language=de", control.content
        assert answer.content == b"language=de", answer.content


def test_hole_replay_memory_undercounts_many_small_headers(clean, shop):
    """The size of an answer's key counts the characters of each header name and value,
    not the objects that hold them (a tuple and two str per header, ~170 bytes for 10
    characters). Requests with many short headers (well within a server's limit of 100
    fields) hold several times REPLAY_MAX_BYTES."""
    cap = 50_000
    with replaying(local_conf={"REPLAY_MAX_BYTES": cap}):
        client = Client()
        gc.collect()
        tracemalloc.start()
        try:
            for n in range(200):
                # New strings per request, as a server makes them.
                extra = {f"HTTP_X{i:02d}_{n}": str(i % 10) for i in range(90)}
                client.get("/catalog/", **extra)
            gc.collect()
            with_answers = tracemalloc.get_traced_memory()[0]
            counted = replay.stats_of()["bytes"]
            replay._answers.clear()
            gc.collect()
            held = with_answers - tracemalloc.get_traced_memory()[0]  # the answers' own
        finally:
            tracemalloc.stop()
        assert counted <= cap
        assert held <= 2 * cap, f"{held} bytes held for REPLAY_MAX_BYTES={cap} (counted {counted})"


def test_hole_urlconf_reloaded_at_runtime_keeps_old_answers(clean, shop):
    """A URLconf changed at runtime (urlpatterns edited and ``clear_url_caches()``, as
    django CMS does when an apphook page is unpublished) sends no setting_changed: the
    stack answers 404 for the removed URL, the memory the old page."""
    from django.urls import clear_url_caches

    from tests.adversarial_replay2 import common

    with replaying():
        client = Client()
        warm(client, "/hello/")
        saved = list(common.urlpatterns)
        try:
            common.urlpatterns[:] = [p for p in saved if str(p.pattern) != "hello/"]
            clear_url_caches()
            assert client.get("/hello/?other=1").status_code == 404  # the stack
            assert client.get("/hello/").status_code == 404
        finally:
            common.urlpatterns[:] = saved
            clear_url_caches()


def test_hole_a_session_sent_in_a_header_is_not_taken_for_an_anonymous_visitor(clean, shop):
    """A visitor with no session cookie was assumed anonymous (the user never loaded), even
    when a middleware had loaded a logged-in session from a header: the cached anonymous
    page (and an anonymous request.user) instead of her own. Not only from memory: the
    page cache's own visitor check did it."""
    from importlib import import_module

    from django.contrib.auth.models import User

    alice = Client()
    alice.force_login(User.objects.create_user("alice", password="pw"))
    key = alice.cookies[settings.SESSION_COOKIE_NAME].value
    middleware = stack(before_session=(), after_common=())
    at = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    middleware.insert(at, f"{ME}.HeaderSessionMiddleware")
    with replaying(middleware):
        anonymous = Client()
        for _ in range(4):
            assert anonymous.get("/hello/").content == b"hello anon"
        for _ in range(3):
            mine = Client().get("/hello/", HTTP_X_SESSION=key)
            assert mine.content == b"hello alice", mine.content
    assert import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).exists(key)
