"""Ported from Django 5.2 tests/cache/tests.py: CacheHEADTest.

Django fills the cache with ``UpdateCacheMiddleware`` and reads it back with
``FetchFromCacheMiddleware.process_request``; here one view is decorated with
``django_smartcache.cache_page`` and called with RequestFactory requests.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.test import TestCase

from django_smartcache import cache_page
from tests.django_suite.support import factory, status
from tests.views import CALLS, ran

PATH = "/cache/test/"


def content_view(request):
    ran("head_view")
    return HttpResponse(f"test content {CALLS['head_view']}")


class CacheHEADTest(TestCase):
    def test_head_caches_correctly(self):
        # Ported from django tests/cache/tests.py CacheHEADTest.test_head_caches_correctly
        # Django stores a HEAD response and answers the next HEAD from it. A HEAD miss here
        # runs the view and stores nothing (see DIFFERENCES.md): the next HEAD gets the
        # content of a new run, and a GET is never answered with what a HEAD produced.
        view = cache_page(60)(content_view)
        first = view(factory.head(PATH))
        self.assertEqual(first.content, b"test content 1")
        second = view(factory.head(PATH))
        self.assertEqual(
            (second.content, status(second)),
            (b"test content 2", "MISS"),
            "a HEAD response was stored and replayed",
        )
        get = view(factory.get(PATH))
        self.assertEqual(
            (get.content, status(get)),
            (b"test content 3", "MISS"),
            "a GET was answered from a HEAD response",
        )

    def test_head_with_cached_get(self):
        # Ported from django tests/cache/tests.py CacheHEADTest.test_head_with_cached_get
        view = cache_page(60)(content_view)
        view(factory.get(PATH))
        head = view(factory.head(PATH))
        self.assertEqual(status(head), "HIT", "a HEAD must be answered from the cached GET")
        self.assertEqual(
            head.content, b"test content 1", "the HEAD was not answered with the GET's response"
        )
        self.assertEqual(CALLS["head_view"], 1, "the view ran for a HEAD despite a cached GET")
