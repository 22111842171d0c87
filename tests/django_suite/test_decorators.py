"""Ported from Django 5.2 tests/decorators/test_cache.py and tests/decorators/tests.py
(DecoratorsTest.test_attributes).

Django tests ``cache_control``, ``cache_page`` and ``never_cache`` on their own. Here each
is combined with ``django_smartcache.cache_page`` the way a project combines them: the headers
those decorators set must reach the client unchanged, decide whether the page is stored, and
the wrapped view must stay a sync or async view as it was.
"""

from __future__ import annotations

import time

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpResponse
from django.test import TestCase
from django.utils.decorators import method_decorator
from django.utils.http import parse_http_date
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.vary import vary_on_cookie, vary_on_headers

from django_smartcache import cache_page
from tests.django_suite.support import factory, status
from tests.views import CALLS, ran

NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


class HttpRequestProxy:
    def __init__(self, request):
        self._request = request

    def __getattr__(self, attr):
        """Proxy to the underlying HttpRequest object."""
        return getattr(self._request, attr)


def counted(name):
    """A view counting its runs under ``name``; its body is the run number."""

    def view(request):
        ran(name)
        return HttpResponse(f"run {CALLS[name]}")

    return view


def counted_async(name):
    async def view(request):
        ran(name)
        return HttpResponse(f"run {CALLS[name]}")

    return view


def twice(view, path="/view/"):
    """Two GETs of ``path`` through ``view`` (sync or async); both responses."""
    call = async_to_sync(view) if iscoroutinefunction(view) else view
    return call(factory.get(path)), call(factory.get(path))


class CacheControlDecoratorTest(TestCase):
    def test_wrapped_sync_function_is_not_coroutine_function(self):
        # Ported from django tests/decorators/test_cache.py
        # CacheControlDecoratorTest.test_wrapped_sync_function_is_not_coroutine_function
        wrapped_view = cache_page(60)(cache_control()(counted("sync")))
        self.assertIs(iscoroutinefunction(wrapped_view), False, "a sync view became async")

    def test_wrapped_async_function_is_coroutine_function(self):
        # Ported from django tests/decorators/test_cache.py
        # CacheControlDecoratorTest.test_wrapped_async_function_is_coroutine_function
        wrapped_view = cache_page(60)(cache_control()(counted_async("async")))
        self.assertIs(iscoroutinefunction(wrapped_view), True, "an async view became sync")
        first, second = twice(wrapped_view)
        self.assertEqual(
            (second.content, status(second)), (b"run 1", "HIT"), "the async view was not cached"
        )

    def test_cache_control_decorator_http_request_proxy(self):
        # Ported from django tests/decorators/test_cache.py
        # CacheControlDecoratorTest.test_cache_control_decorator_http_request_proxy
        class MyClass:
            @method_decorator(cache_page(60))
            @method_decorator(cache_control(a="b"))
            def a_view(self, request):
                ran("proxy_view")
                return HttpResponse(f"run {CALLS['proxy_view']}")

        MyClass().a_view(HttpRequestProxy(factory.get("/view/")))
        response = MyClass().a_view(HttpRequestProxy(factory.get("/view/")))
        self.assertEqual(response.headers["Cache-Control"], "a=b")
        self.assertEqual(
            (response.content, status(response)),
            (b"run 1", "HIT"),
            "a method view called with a proxied request must be cached",
        )

    def check_empty_decorator(self, view):
        first, second = twice(cache_page(60)(cache_control()(view)))
        self.assertEqual(first.get("Cache-Control"), "")
        self.assertEqual(
            second.get("Cache-Control"), "", "the cached copy lost its empty Cache-Control"
        )
        self.assertEqual(
            (second.content, status(second)),
            (b"run 1", "HIT"),
            "an empty Cache-Control must not prevent caching",
        )

    def test_cache_control_empty_decorator(self):
        # Ported from django tests/decorators/test_cache.py
        # CacheControlDecoratorTest.test_cache_control_empty_decorator
        self.check_empty_decorator(counted("empty"))

    def test_cache_control_empty_decorator_async_view(self):
        # Ported from django tests/decorators/test_cache.py
        # CacheControlDecoratorTest.test_cache_control_empty_decorator_async_view
        self.check_empty_decorator(counted_async("empty"))

    def check_full_decorator(self, view):
        decorator = cache_control(max_age=123, private=True, public=True, custom=456)
        first, second = twice(cache_page(60)(decorator(view)))
        for response in (first, second):
            cache_control_items = response.get("Cache-Control").split(", ")
            self.assertEqual(
                set(cache_control_items),
                {"max-age=123", "private", "public", "custom=456"},
                "the client did not get the view's Cache-Control",
            )
        self.assertEqual(
            (second.content, CALLS["full"]), (b"run 2", 2), "a private response was cached"
        )

    def test_cache_control_full_decorator(self):
        # Ported from django tests/decorators/test_cache.py
        # CacheControlDecoratorTest.test_cache_control_full_decorator
        self.check_full_decorator(counted("full"))

    def test_cache_control_full_decorator_async_view(self):
        # Ported from django tests/decorators/test_cache.py
        # CacheControlDecoratorTest.test_cache_control_full_decorator_async_view
        self.check_full_decorator(counted_async("full"))


class CachePageDecoratorTest(TestCase):
    def test_cache_page(self):
        # Ported from django tests/decorators/test_cache.py CachePageDecoratorTest.test_cache_page
        # Django's view returns a string and the request (an empty HttpRequest) is not
        # cacheable, so cache_page hands back whatever the view returned. Here: a request
        # that is not cacheable gets the view's own response object, with or without a
        # key_prefix, and a GET is cached.
        returned = []

        def my_view(request):
            ran("my_view")
            returned.append(HttpResponse("response"))
            return returned[-1]

        for decorated in (cache_page(123)(my_view), cache_page(123, key_prefix="test")(my_view)):
            with self.subTest(decorated=decorated):
                response = decorated(factory.post("/view/"))
                self.assertIs(response, returned[-1], "the view's response was replaced")
                self.assertEqual(response.content, b"response")
                self.assertEqual(status(response), "BYPASS")
        my_view_cached = cache_page(123)(my_view)
        my_view_cached(factory.get("/view/"))
        response = my_view_cached(factory.get("/view/"))
        self.assertEqual((response.content, status(response)), (b"response", "HIT"))
        self.assertEqual(CALLS["my_view"], 3, "the view ran for a cached GET")


class NeverCacheDecoratorTest(TestCase):
    def test_wrapped_sync_function_is_not_coroutine_function(self):
        # Ported from django tests/decorators/test_cache.py
        # NeverCacheDecoratorTest.test_wrapped_sync_function_is_not_coroutine_function
        wrapped_view = cache_page(60)(never_cache(counted("sync")))
        self.assertIs(iscoroutinefunction(wrapped_view), False, "a sync view became async")

    def test_wrapped_async_function_is_coroutine_function(self):
        # Ported from django tests/decorators/test_cache.py
        # NeverCacheDecoratorTest.test_wrapped_async_function_is_coroutine_function
        wrapped_view = cache_page(60)(never_cache(counted_async("async")))
        self.assertIs(iscoroutinefunction(wrapped_view), True, "an async view became sync")

    def check_never_cache_headers(self, view):
        before = int(time.time())
        first, second = twice(cache_page(60)(never_cache(view)))
        for response in (first, second):
            self.assertEqual(response.headers["Cache-Control"], NEVER_CACHE)
            expires = parse_http_date(response.headers["Expires"])
            self.assertTrue(
                before <= expires <= time.time() + 1,
                f"Expires should be now, got {response.headers['Expires']}",
            )
        self.assertEqual(
            (second.content, CALLS["never"]), (b"run 2", 2), "a never_cache view was cached"
        )

    def test_never_cache_decorator_headers(self):
        # Ported from django tests/decorators/test_cache.py
        # NeverCacheDecoratorTest.test_never_cache_decorator_headers
        self.check_never_cache_headers(counted("never"))

    def test_never_cache_decorator_headers_async_view(self):
        # Ported from django tests/decorators/test_cache.py
        # NeverCacheDecoratorTest.test_never_cache_decorator_headers_async_view
        self.check_never_cache_headers(counted_async("never"))

    def test_never_cache_decorator_expires_not_overridden(self):
        # Ported from django tests/decorators/test_cache.py
        # NeverCacheDecoratorTest.test_never_cache_decorator_expires_not_overridden
        @never_cache
        def a_view(request):
            ran("never")
            return HttpResponse(headers={"Expires": "tomorrow"})

        first, second = twice(cache_page(60)(a_view))
        self.assertEqual(second.headers["Expires"], "tomorrow")
        self.assertEqual(CALLS["never"], 2, "a never_cache view was cached")

    def test_never_cache_decorator_expires_not_overridden_async_view(self):
        # Ported from django tests/decorators/test_cache.py
        # NeverCacheDecoratorTest.test_never_cache_decorator_expires_not_overridden_async_view
        @never_cache
        async def async_view(request):
            ran("never")
            return HttpResponse(headers={"Expires": "tomorrow"})

        first, second = twice(cache_page(60)(async_view))
        self.assertEqual(second.headers["Expires"], "tomorrow")
        self.assertEqual(CALLS["never"], 2, "a never_cache view was cached")

    def test_never_cache_decorator_http_request_proxy(self):
        # Ported from django tests/decorators/test_cache.py
        # NeverCacheDecoratorTest.test_never_cache_decorator_http_request_proxy
        class MyClass:
            @method_decorator(cache_page(60))
            @method_decorator(never_cache)
            def a_view(self, request):
                ran("never")
                return HttpResponse()

        for _ in range(2):
            response = MyClass().a_view(HttpRequestProxy(factory.get("/view/")))
            self.assertIn("Cache-Control", response.headers)
            self.assertIn("Expires", response.headers)
        self.assertEqual(CALLS["never"], 2, "a never_cache view was cached")


def fully_decorated(request):
    """Expected __doc__"""
    return HttpResponse("<html><body>dummy</body></html>")


fully_decorated.anything = "Expected __dict__"


def compose(*functions):
    # compose(f, g)(*args, **kwargs) == f(g(*args, **kwargs))
    functions = list(reversed(functions))

    def _inner(*args, **kwargs):
        result = functions[0](*args, **kwargs)
        for f in functions[1:]:
            result = f(result)
        return result

    return _inner


full_decorator = compose(
    vary_on_headers("Accept-language"),
    vary_on_cookie,
    cache_page(60 * 15),  # django_smartcache's
    cache_control(private=True),
    never_cache,
)


class DecoratorsTest(TestCase):
    def test_attributes(self):
        # Ported from django tests/decorators/tests.py DecoratorsTest.test_attributes
        """cache_page keeps the wrapped function's attributes, among Django's decorators."""
        view = full_decorator(fully_decorated)
        self.assertEqual(view.__name__, "fully_decorated")
        self.assertEqual(view.__doc__, "Expected __doc__")
        self.assertEqual(view.__dict__["anything"], "Expected __dict__")
        alone = cache_page(60)(fully_decorated)
        self.assertEqual(
            (alone.__name__, alone.__doc__, alone.__dict__["anything"]),
            ("fully_decorated", "Expected __doc__", "Expected __dict__"),
            "cache_page lost the view's name, docstring or attributes",
        )
