"""Ported from Django 5.2 tests/cache/tests.py: TestWithTemplateResponse, and
tests/template_tests/test_response.py: CacheMiddlewareTest.

The views return unrendered ``TemplateResponse`` objects, as class-based views do. Django's
cache stores them once they are rendered (a post-render callback); ``cache_page`` here must
do the same. Called directly, a response is rendered the way Django's handler renders it.
"""

from __future__ import annotations

import time

from django.template import engines
from django.template.response import TemplateResponse
from django.test import RequestFactory, TestCase, override_settings
from django.utils.cache import patch_vary_headers

from django_smartcache import cache_page
from tests.django_suite.support import EXACT_TIMEOUTS, PATCH_VARY_CASES, meta_name, status
from tests.views import CALLS, ran

factory = RequestFactory()


def template_view(initial_vary=None, newheaders=(), name="template_view"):
    """A view returning an unrendered TemplateResponse: "This is a test", the run number."""

    def view(request):
        ran(name)
        template = engines["django"].from_string("This is a test, run {{ run }}")
        response = TemplateResponse(request, template, {"run": CALLS[name]})
        if initial_vary is not None:
            response.headers["Vary"] = initial_vary
        patch_vary_headers(response, newheaders)
        return response

    return view


def fetch(view, request):
    """Call ``view`` and render what it returns, as Django's request handler does."""
    response = view(request)
    if hasattr(response, "render") and callable(response.render):
        response = response.render()
    return response


@override_settings(USE_I18N=False)
class TestWithTemplateResponse(TestCase):
    path = "/cache/test/"

    def test_patch_vary_headers(self):
        # Ported from django tests/cache/tests.py TestWithTemplateResponse.test_patch_vary_headers
        cases = [case for case in PATCH_VARY_CASES if case[2] != "*"]
        for number, (initial_vary, newheaders, resulting_vary) in enumerate(cases):
            with self.subTest(initial_vary=initial_vary, newheaders=newheaders):
                name = f"tr_vary{number}"
                view = cache_page(60)(template_view(initial_vary, newheaders, name))
                path = f"{self.path}{number}/"
                names = [n.strip() for n in resulting_vary.split(",")]
                same = {meta_name(n): "a" for n in names}
                first = fetch(view, factory.get(path, **same))
                self.assertEqual(first.content, b"This is a test, run 1")
                again = fetch(view, factory.get(path, **same))
                self.assertEqual(
                    (again.content, status(again)),
                    (b"This is a test, run 1", "HIT"),
                    "the rendered TemplateResponse must be served from the cache",
                )
                self.assertEqual(again.headers["Vary"], resulting_vary, "the hit lost its Vary")
                for header in names:
                    other = fetch(view, factory.get(path, **{**same, meta_name(header): "b"}))
                    self.assertNotEqual(
                        other.content,
                        first.content,
                        f"another {header} was served the page made for the first request",
                    )

    def test_get_cache_key(self):
        # Ported from django tests/cache/tests.py TestWithTemplateResponse.test_get_cache_key
        view = cache_page(60)(template_view())
        prefixed = cache_page(60, key_prefix="localprefix")(template_view())
        first = fetch(view, factory.get(self.path))
        self.assertEqual((first.content, status(first)), (b"This is a test, run 1", "MISS"))
        again = fetch(view, factory.get(self.path))
        self.assertEqual(
            (again.content, status(again)),
            (b"This is a test, run 1", "HIT"),
            "the rendered TemplateResponse must be served from the cache",
        )
        response = fetch(prefixed, factory.get(self.path))
        self.assertEqual(
            response.content,
            b"This is a test, run 2",
            "a key_prefix view was served the page stored without a prefix",
        )
        response = fetch(prefixed, factory.get(self.path))
        self.assertEqual((response.content, status(response)), (b"This is a test, run 2", "HIT"))

    def test_get_cache_key_with_query(self):
        # Ported from django tests/cache/tests.py
        # TestWithTemplateResponse.test_get_cache_key_with_query
        view = cache_page(60)(template_view())
        fetch(view, factory.get(self.path))
        response = fetch(view, factory.get(self.path, {"test": 1}))
        self.assertEqual(
            response.content,
            b"This is a test, run 2",
            "The querystring must be taken into account",
        )
        response = fetch(view, factory.get(self.path, {"test": 1}))
        self.assertEqual((response.content, status(response)), (b"This is a test, run 2", "HIT"))


@override_settings(ROOT_URLCONF="tests.django_suite.urls", SMARTCACHE=EXACT_TIMEOUTS)
class CacheMiddlewareTest(TestCase):
    def test_middleware_caching(self):
        # Ported from django tests/template_tests/test_response.py
        # CacheMiddlewareTest.test_middleware_caching (cache_page(1) instead of the middleware)
        response = self.client.get("/template_response_view/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content.strip(), b"Template response run 1")

        time.sleep(0.5)

        response2 = self.client.get("/template_response_view/")
        self.assertEqual(response2.status_code, 200)
        self.assertEqual(
            response.content, response2.content, "a TemplateResponse view was not cached"
        )

        time.sleep(1.0)

        # Let the cache expire and test again
        response2 = self.client.get("/template_response_view/")
        self.assertEqual(response2.status_code, 200)
        self.assertNotEqual(
            response.content, response2.content, "the page outlived its 1 s timeout"
        )
        self.assertEqual(CALLS["template_response"], 2)
