"""Ported from Django 5.2 tests/generic_views/test_base.py (TemplateViewTest.test_cached_views)
and tests/sitemaps_tests/test_http.py (HTTPSitemapTests.test_cached_sitemap_index).

Both wrap views that return unrendered ``TemplateResponse`` objects (a ``TemplateView``, the
sitemap views) in ``cache_page``, as Django's test URLconfs do; here with
``django_smartcache.cache_page`` and a 1 s timeout instead of Django's 2 s / 1 s.
"""

from __future__ import annotations

import time
from datetime import date

from django.test import TestCase, override_settings

from tests.django_suite.support import EXACT_TIMEOUTS, status
from tests.views import CALLS


@override_settings(ROOT_URLCONF="tests.django_suite.urls", SMARTCACHE=EXACT_TIMEOUTS)
class TemplateViewTest(TestCase):
    def check_cached(self, url, name):
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "<h1>About</h1>")

        time.sleep(0.5)

        response2 = self.client.get(url)
        self.assertEqual(response2.status_code, 200)
        self.assertEqual(
            (response.content, status(response2)),
            (response2.content, "HIT"),
            "the template view was not served from the cache",
        )

        time.sleep(1.0)

        # Let the cache expire and test again
        response2 = self.client.get(url)
        self.assertEqual(response2.status_code, 200)
        self.assertNotEqual(
            response.content, response2.content, "the page outlived its 1 s timeout"
        )
        self.assertEqual(CALLS[name], 2)

    def test_cached_views(self):
        # Ported from django tests/generic_views/test_base.py TemplateViewTest.test_cached_views
        """A template view can be cached."""
        self.check_cached("/template/cached/bar/", "about")

    def test_cached_views_method_decorator(self):
        # Ported from django tests/generic_views/test_base.py TemplateViewTest.test_cached_views
        # The same view decorated the way the docs show for class-based views:
        # method_decorator(cache_page(...), name="dispatch").
        self.check_cached("/template/method-cached/bar/", "about")


@override_settings(ROOT_URLCONF="tests.django_suite.urls")
class HTTPSitemapTests(TestCase):
    base_url = "http://testserver"

    def test_cached_sitemap_index(self):
        # Ported from django tests/sitemaps_tests/test_http.py
        # HTTPSitemapTests.test_cached_sitemap_index
        """A cached sitemap index can be rendered (#2713)."""
        expected_content = f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{self.base_url}/cached/sitemap-simple.xml</loc><lastmod>{date.today()}</lastmod></sitemap>
</sitemapindex>
"""
        response = self.client.get("/cached/index.xml")
        self.assertXMLEqual(response.text, expected_content)
        computed = CALLS["sitemap_items"]
        again = self.client.get("/cached/index.xml")
        self.assertEqual(status(again), "HIT", "the sitemap index was not cached")
        self.assertEqual(CALLS["sitemap_items"], computed, "the index was computed on a hit")
        self.assertXMLEqual(again.text, expected_content)
        self.assertEqual(again["Content-Type"], response["Content-Type"])
        # The section the index lists is cached too, and is the same XML on a hit.
        section = self.client.get("/cached/sitemap-simple.xml")
        self.assertContains(section, f"<loc>{self.base_url}/location/</loc>")
        computed = CALLS["sitemap_items"]
        section_again = self.client.get("/cached/sitemap-simple.xml")
        self.assertEqual(
            (section_again.content, status(section_again)),
            (section.content, "HIT"),
            "the sitemap section was not served from the cache",
        )
        self.assertEqual(CALLS["sitemap_items"], computed, "the section was computed on a hit")
