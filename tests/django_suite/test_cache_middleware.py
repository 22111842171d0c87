"""Ported from Django 5.2 tests/cache/tests.py: CacheMiddlewareTest, and
BaseCacheTests.test_cache_write_unpicklable_object.

Django drives ``CacheMiddleware`` (and ``cache_page``) with RequestFactory requests and looks
at what ``process_request`` finds in the cache. Here the same views are decorated with
``django_smartcache.cache_page`` and called the same way (or through the test client when
Django's middleware must run); "found in the cache" is what the client sees: the body of an
earlier run, ``X-Smartcache: HIT``, and whether the view ran again.
"""

from __future__ import annotations

import time

from django.http import HttpResponse, HttpResponseNotModified
from django.test import Client, TestCase, override_settings
from django.utils.cache import has_vary_header, patch_vary_headers
from django.views.decorators.cache import cache_control

from django_smartcache import cache_page
from tests.django_suite.support import EXACT_TIMEOUTS, factory, status
from tests.views import CALLS, ran


def hello_world_view(request, value):
    ran("hello_world")
    return HttpResponse(f"Hello World {value}")


def hello_world_view_patch_vary_headers_asterisk(request, value):
    response = HttpResponse(f"Hello World {value}")
    patch_vary_headers(response, ("*",))
    return response


def hello_world_view_patch_vary_headers_asterisk_space(request, value):
    response = HttpResponse(f"Hello World {value}")
    patch_vary_headers(response, (" * ",))
    return response


def hello_world_view_vary_headers_includes_asterisk(request, value):
    response = HttpResponse(f"Hello World {value}")
    response["Vary"] = "Cookie, * , Pony"
    return response


def get(path="/view/", **meta):
    return factory.get(path, **meta)


@override_settings(SMARTCACHE=EXACT_TIMEOUTS)
class CacheMiddlewareTest(TestCase):
    def test_middleware(self):
        # Ported from django tests/cache/tests.py CacheMiddlewareTest.test_middleware
        view = cache_page(30)(hello_world_view)
        prefix_view = cache_page(30, key_prefix="prefix1")(hello_world_view)
        timeout_view = cache_page(1)(hello_world_view)

        response = view(get(), "1")
        self.assertEqual(response.content, b"Hello World 1")
        self.assertEqual(status(response), "MISS", "the first request must run the view")

        response = view(get(), "2")
        self.assertEqual(
            (response.content, status(response)),
            (b"Hello World 1", "HIT"),
            "Repeating the request should result in a cache hit",
        )
        response = prefix_view(get(), "3")
        self.assertEqual(
            response.content,
            b"Hello World 3",
            "The same request through a decorator with another key_prefix must not hit",
        )
        response = timeout_view(get(), "4")
        self.assertEqual(
            response.content,
            b"Hello World 1",
            "The same request through a decorator with another timeout should hit",
        )
        self.assertEqual(CALLS["hello_world"], 2, "the view ran more often than for two misses")

    def test_view_decorator(self):
        # Ported from django tests/cache/tests.py CacheMiddlewareTest.test_view_decorator
        default_view = cache_page(3)(hello_world_view)
        default_with_prefix_view = cache_page(3, key_prefix="prefix1")(hello_world_view)
        explicit_default_view = cache_page(3, cache="default")(hello_world_view)
        explicit_default_with_prefix_view = cache_page(3, cache="default", key_prefix="prefix1")(
            hello_world_view
        )
        other_view = cache_page(1, cache="other")(hello_world_view)
        other_with_prefix_view = cache_page(1, cache="other", key_prefix="prefix2")(
            hello_world_view
        )

        def check(view, value, expected, message):
            self.assertEqual(view(get(), value).content, expected, message)

        check(default_view, "1", b"Hello World 1", "first request")
        check(default_view, "2", b"Hello World 1", "Request again -- must hit the cache")
        check(
            explicit_default_view,
            "3",
            b"Hello World 1",
            "cache='default' must find what the implicit default cache stored",
        )
        check(
            explicit_default_with_prefix_view,
            "4",
            b"Hello World 4",
            "a key_prefix must select a different entry",
        )
        check(explicit_default_with_prefix_view, "5", b"Hello World 4", "prefixed entry: hit")
        check(
            default_with_prefix_view,
            "6",
            b"Hello World 4",
            "the implicit default cache with the same prefix must hit the same entry",
        )
        check(other_view, "7", b"Hello World 7", "an alternate cache alias must not hit")
        check(other_view, "8", b"Hello World 7", "a repeated request on the alternate cache hits")
        check(
            other_with_prefix_view,
            "9",
            b"Hello World 9",
            "a prefix on the alternate cache must select yet another entry",
        )

        time.sleep(1.5)  # past the 1 s timeout of the "other" views, within the 3 s ones

        check(default_view, "11", b"Hello World 1", "the default cache must still hit")
        check(default_with_prefix_view, "12", b"Hello World 4", "default + prefix: still a hit")
        check(explicit_default_view, "13", b"Hello World 1", "explicit default: still a hit")
        check(
            explicit_default_with_prefix_view,
            "14",
            b"Hello World 4",
            "explicit default + prefix: still a hit",
        )
        check(other_view, "15", b"Hello World 15", "a 1 s entry must have expired after 1.5 s")
        check(
            other_with_prefix_view,
            "16",
            b"Hello World 16",
            "a 1 s entry with a prefix must have expired after 1.5 s",
        )

    def test_cache_page_timeout(self):
        # Ported from django tests/cache/tests.py CacheMiddlewareTest.test_cache_page_timeout
        # The page timeout takes precedence over the "max-age" of "Cache-Control".
        tests = [
            (1, 3),  # max_age < page_timeout: still cached after 1 s.
            (3, 1),  # max_age > page_timeout: expired after 1 s.
        ]
        views = {
            (max_age, page_timeout): cache_page(timeout=page_timeout)(
                cache_control(max_age=max_age)(hello_world_view)
            )
            for max_age, page_timeout in tests
        }
        for (max_age, _page_timeout), view in views.items():
            response = view(get(f"/view/{max_age}/"), "1")
            self.assertEqual(response.content, b"Hello World 1")
        time.sleep(1.2)
        for (max_age, page_timeout), view in views.items():
            with self.subTest(max_age=max_age, page_timeout=page_timeout):
                response = view(get(f"/view/{max_age}/"), "2")
                expected = b"Hello World 1" if page_timeout > max_age else b"Hello World 2"
                self.assertEqual(
                    response.content,
                    expected,
                    f"after 1.2 s, a page cached for {page_timeout} s with max-age={max_age} "
                    "must follow the page timeout",
                )

    def test_cache_control_not_cached(self):
        # Ported from django tests/cache/tests.py CacheMiddlewareTest.test_cache_control_not_cached
        """Responses with 'Cache-Control: private/no-cache/no-store' are not cached."""
        for cc in ("private", "no-cache", "no-store", "PRIVATE", "NO-store"):
            with self.subTest(cache_control=cc):
                # Cannot use @cache_control() as it lowercases directives.
                @cache_page(3)
                def view(request, value, cc=cc):
                    return HttpResponse(f"Hello World {value}", headers={"Cache-Control": cc})

                response = view(get(f"/view/{cc}/"), "1")
                self.assertEqual(response.content, b"Hello World 1")
                response = view(get(f"/view/{cc}/"), "2")
                self.assertEqual(
                    response.content,
                    b"Hello World 2",
                    f"a response with Cache-Control: {cc} was served from the cache",
                )
                self.assertEqual(response["Cache-Control"], cc, "the header must reach the client")

    def test_vary_asterisk_not_cached(self):
        # Ported from django tests/cache/tests.py CacheMiddlewareTest.test_vary_asterisk_not_cached
        views = (
            hello_world_view_patch_vary_headers_asterisk,
            hello_world_view_patch_vary_headers_asterisk_space,
            hello_world_view_vary_headers_includes_asterisk,
        )
        for view in views:
            with self.subTest(view=view.__name__):
                cached = cache_page(3)(view)
                path = f"/view/{view.__name__}/"
                self.assertEqual(cached(get(path), "1").content, b"Hello World 1")
                self.assertEqual(
                    cached(get(path), "2").content,
                    b"Hello World 2",
                    f"a response with Vary: * ({view.__name__}) was served from the cache",
                )

    def test_vary_on_authorization_for_authorization_header(self):
        # Ported from django tests/cache/tests.py
        # CacheMiddlewareTest.test_vary_on_authorization_for_authorization_header
        view = cache_page(3)(hello_world_view)
        response = view(get(HTTP_AUTHORIZATION="token"), "1")
        self.assertIs(
            has_vary_header(response, "Authorization"),
            True,
            "a response to a request bearing Authorization must say Vary: Authorization",
        )
        response = view(get(HTTP_AUTHORIZATION="other-token"), "2")
        self.assertEqual(
            response.content,
            b"Hello World 2",
            "a client with another Authorization got the response made for 'token'",
        )
        response = view(get(), "3")
        self.assertEqual(
            response.content,
            b"Hello World 3",
            "a client without Authorization got the response made for 'token'",
        )

    def test_no_vary_on_authorization_for_empty_authorization_header(self):
        # Ported from django tests/cache/tests.py
        # CacheMiddlewareTest.test_no_vary_on_authorization_for_empty_authorization_header
        view = cache_page(3)(hello_world_view)
        response = view(get(HTTP_AUTHORIZATION=""), "1")
        self.assertEqual(response.content, b"Hello World 1")
        self.assertIs(
            has_vary_header(response, "Authorization"),
            False,
            "an empty Authorization header must not make the response vary on Authorization",
        )

    def test_authorization_header_exceptions(self):
        # Ported from django tests/cache/tests.py
        # CacheMiddlewareTest.test_authorization_header_exceptions
        """A ``Cache-Control: public`` response to a request bearing ``Authorization`` does not
        vary on it and may be stored (RFC 9111 section 3.5)."""
        view = cache_page(3)(cache_control(public=True)(hello_world_view))
        response = view(get(HTTP_AUTHORIZATION="token"), "1")
        self.assertIs(
            has_vary_header(response, "Authorization"),
            False,
            "a public response must not be made to vary on Authorization",
        )
        response = view(get(HTTP_AUTHORIZATION="token"), "2")
        self.assertEqual(
            (response.content, status(response)),
            (b"Hello World 1", "HIT"),
            "a public response to a request bearing Authorization may be stored",
        )

    def test_authorization_header_exceptions_s_maxage_and_must_revalidate(self):
        # Ported from django tests/cache/tests.py
        # CacheMiddlewareTest.test_authorization_header_exceptions: its docstring names
        # s-maxage and must-revalidate as the other RFC 9111 section 3.5 exceptions, which
        # Django does not implement and django-smartcache does.
        for directive in ({"s_maxage": 60}, {"must_revalidate": True}):
            with self.subTest(directive=directive):
                view = cache_page(3)(cache_control(**directive)(hello_world_view))
                path = f"/view/{next(iter(directive))}/"
                response = view(get(path, HTTP_AUTHORIZATION="token"), "1")
                self.assertIs(
                    has_vary_header(response, "Authorization"),
                    True,
                    "only 'public' lifts Vary: Authorization (Django's rule)",
                )
                response = view(get(path, HTTP_AUTHORIZATION="token"), "2")
                self.assertEqual(
                    (response.content, status(response)),
                    (b"Hello World 1", "HIT"),
                    f"{directive} allows storing a response to an authorized request",
                )
                response = view(get(path, HTTP_AUTHORIZATION="other-token"), "3")
                self.assertEqual(
                    response.content,
                    b"Hello World 3",
                    "another bearer got the response made for 'token'",
                )
                response = view(get(path), "4")
                self.assertEqual(
                    response.content,
                    b"Hello World 4",
                    "a client without Authorization got the response made for 'token'",
                )

    @override_settings(ROOT_URLCONF="tests.django_suite.urls")
    def test_sensitive_cookie_not_cached(self):
        # Ported from django tests/cache/tests.py
        # CacheMiddlewareTest.test_sensitive_cookie_not_cached
        """A page that hands out a new CSRF cookie never gives another client that cookie or a
        token that belongs to it, whether or not the request already had other cookies.
        Django does not cache it; here it is cached with the token punched out and each hit
        carries the visitor's own token."""
        for cookies in ({}, {"unrelated": "value"}):
            with self.subTest(cookies=cookies):
                first = Client(enforce_csrf_checks=True)
                first_page = first.get("/csrf/")
                visitor = Client(enforce_csrf_checks=True)
                for name, value in cookies.items():
                    visitor.cookies[name] = value
                page = visitor.get("/csrf/")
                self.assertIn("csrftoken", page.cookies, "the visitor got no CSRF cookie")
                self.assertNotEqual(
                    page.cookies["csrftoken"].value,
                    first.cookies["csrftoken"].value,
                    "the visitor was given another client's CSRF cookie",
                )
                self.assertNotEqual(
                    page.content, first_page.content, "the visitor got the first client's token"
                )
                self.assertEqual(
                    status(page),
                    "HIT",
                    "a page with a CSRF token must be cached with the token punched out "
                    "(a difference from Django, see DIFFERENCES.md)",
                )
                post = visitor.post("/accept-post/", {"csrfmiddlewaretoken": page.content.decode()})
                self.assertEqual(
                    post.status_code,
                    200,
                    "the CSRF token in the visitor's page is not its own: its form post failed",
                )

    @override_settings(ROOT_URLCONF="tests.django_suite.urls")
    def test_refreshed_cookie_not_cached(self):
        # Ported from django tests/cache/tests.py
        # CacheMiddlewareTest.test_refreshed_cookie_not_cached
        """A response that updates a cookie the request had is not cached: a Vary: Cookie hit
        would hand the refreshed value to another client with the old cookie."""
        first, second = Client(), Client()
        first.cookies["session"] = second.cookies["session"] = "old_value"
        first.get("/refreshing-cookie/")
        response = second.get("/refreshing-cookie/")
        self.assertEqual(CALLS["refreshing_cookie"], 2, "the cookie-setting response was cached")
        self.assertEqual(
            response.cookies["session"].value,
            "new_value_2",
            "the second client got the cookie made for the first",
        )

    @override_settings(ROOT_URLCONF="tests.django_suite.urls")
    def test_refreshed_cookie_not_cached_raw_set_cookie_header(self):
        # Ported from django tests/cache/tests.py
        # CacheMiddlewareTest.test_refreshed_cookie_not_cached
        # The same response, with the cookie written as a raw Set-Cookie header.
        first, second = Client(), Client()
        first.cookies["session"] = second.cookies["session"] = "old_value"
        first.get("/raw-refreshing-cookie/")
        response = second.get("/raw-refreshing-cookie/")
        self.assertEqual(
            CALLS["refreshing_cookie"], 2, "a response with a raw Set-Cookie header was cached"
        )
        self.assertIn(
            "new_value_2",
            response.get("Set-Cookie", ""),
            "the second client got the Set-Cookie header made for the first",
        )

    def test_304_response_has_http_caching_headers_but_not_cached(self):
        # Ported from django tests/cache/tests.py
        # CacheMiddlewareTest.test_304_response_has_http_caching_headers_but_not_cached
        @cache_page(2)
        def view(request):
            ran("not_modified")
            return HttpResponseNotModified()

        view(get()).close()
        response = view(get())
        response.close()
        self.assertEqual(CALLS["not_modified"], 2, "a 304 response was served from the cache")
        self.assertIsInstance(response, HttpResponseNotModified)

    def test_cache_control_max_age(self):
        # Ported from django tests/cache/tests.py CacheMiddlewareTest.test_cache_control_max_age
        view = cache_page(2)(hello_world_view)
        # First request: the freshly made response has no Age header, and the decorator
        # does not add Expires or Cache-Control (an invalidation could not reach them).
        response = view(get(), 1)
        self.assertEqual(status(response), "MISS")
        self.assertNotIn("Age", response, "a freshly made response must not carry Age")
        self.assertNotIn("Expires", response, "cache_page must not invent an Expires header")
        self.assertNotIn("Cache-Control", response, "cache_page must not invent a max-age")

        time.sleep(1.1)
        # A second later, the response from the cache carries an Age of 1 second.
        response = view(get(), 1)
        self.assertEqual(status(response), "HIT")
        self.assertEqual(response["Age"], "1", "a cache hit must carry its age in seconds")
        self.assertNotIn("Expires", response, "cache_page must not invent an Expires header")

    def test_cache_write_unpicklable_object(self):
        # Ported from django tests/cache/tests.py BaseCacheTests.test_cache_write_unpicklable_object
        """A response with cookies: each client gets the view's content and cookies (Django
        stores it with its cookies; django-smartcache never stores a response that sets one)."""

        @cache_page(60)
        def view(request):
            ran("cookie_view")
            response = HttpResponse("Testing cookie serialization.")
            response.set_cookie("foo", "bar")
            return response

        first = view(get("/cache/test"))
        second = view(get("/cache/test"))
        self.assertEqual(second.content, b"Testing cookie serialization.")
        self.assertEqual(
            second.cookies["foo"].value,
            first.cookies["foo"].value,
            "the second response lost the cookie",
        )
        self.assertNotEqual(status(second), "HIT", "a response setting a cookie was stored")
        self.assertEqual(CALLS["cookie_view"], 2)
