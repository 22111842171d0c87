"""Ported from Django 5.2 tests/cache/tests.py: CacheUtils and PrefixedCacheUtils.

Django tests ``django.utils.cache`` directly: the key strings of ``get_cache_key`` /
``learn_cache_key`` and the results of ``patch_vary_headers``, ``patch_cache_control`` and
``has_vary_header``. No key string is checked here. Each test decorates a view with
``django_smartcache.cache_page`` and checks what those rules mean for a client: which
requests share an entry, which get their own, which responses are never stored, and that a
cached copy carries the same ``Vary`` and ``Cache-Control`` as the original.
``PrefixedCacheUtils`` reruns everything under another ``SMARTCACHE["KEY_PREFIX"]``.
"""

from __future__ import annotations

import re

from django.http import HttpResponse
from django.test import RequestFactory, TestCase, override_settings
from django.utils.cache import patch_cache_control, patch_vary_headers

from django_smartcache import cache_page
from tests.django_suite.support import PATCH_VARY_CASES, meta_name, status
from tests.views import CALLS, ran


def varying_view(initial_vary, newheaders, name="vary_view"):
    """A view whose response starts with ``Vary: initial_vary`` and is patched with
    ``newheaders``; its body is the run number."""

    def view(request):
        ran(name)
        response = HttpResponse(f"run {CALLS[name]}")
        if initial_vary is not None:
            response.headers["Vary"] = initial_vary
        patch_vary_headers(response, newheaders)
        return response

    return view


def run_view(request):
    ran("run_view")
    return HttpResponse(f"run {CALLS['run_view']}")


@override_settings(USE_I18N=False, ALLOWED_HOSTS=[".example.com"])
class CacheUtils(TestCase):
    """What django.utils.cache's rules mean for pages cached with cache_page."""

    host = "www.example.com"
    path = "/cache/test/"
    factory = RequestFactory(headers={"host": host})

    def check_varies(self, view, path, names, resulting_vary):
        """``view`` at ``path`` varies on ``names``: one entry per set of their values."""
        same = {meta_name(name): "a" for name in names}
        other = {meta_name(name): "b" for name in names}
        first = view(self.factory.get(path, **same))
        again = view(self.factory.get(path, **same))
        self.assertEqual(
            (again.content, status(again)),
            (first.content, "HIT"),
            "a request with the same values of the Vary headers must hit",
        )
        self.assertEqual(
            again.headers["Vary"], resulting_vary, "the cached copy lost its Vary header"
        )
        for name in names:
            one_differs = {**same, meta_name(name): "b"}
            response = view(self.factory.get(path, **one_differs))
            self.assertNotEqual(
                response.content,
                first.content,
                f"a request with another {name} was served the page made for the first one",
            )
        response = view(self.factory.get(path, **other))
        self.assertNotEqual(
            response.content, first.content, "other values of every Vary header shared the entry"
        )

    def test_patch_vary_headers(self):
        # Ported from django tests/cache/tests.py CacheUtils.test_patch_vary_headers
        for number, (initial_vary, newheaders, resulting_vary) in enumerate(PATCH_VARY_CASES):
            with self.subTest(initial_vary=initial_vary, newheaders=newheaders):
                view = cache_page(60)(varying_view(initial_vary, newheaders, f"vary{number}"))
                path = f"{self.path}{number}/"
                if resulting_vary == "*":
                    view(self.factory.get(path))
                    response = view(self.factory.get(path))
                    self.assertEqual(response.headers["Vary"], "*")
                    self.assertEqual(
                        CALLS[f"vary{number}"], 2, "a response with Vary: * was served from cache"
                    )
                    continue
                names = re.split(r"\s*,\s*", resulting_vary)
                self.check_varies(view, path, names, resulting_vary)

    def test_get_cache_key(self):
        # Ported from django tests/cache/tests.py CacheUtils.test_get_cache_key
        view = cache_page(60)(run_view)
        prefixed = cache_page(60, key_prefix="localprefix")(run_view)
        self.assertEqual(status(view(self.factory.get(self.path))), "MISS", "nothing cached yet")
        response = view(self.factory.get(self.path))
        self.assertEqual((response.content, status(response)), (b"run 1", "HIT"))
        # A specified key_prefix is taken into account.
        response = prefixed(self.factory.get(self.path))
        self.assertEqual(
            (response.content, status(response)),
            (b"run 2", "MISS"),
            "a key_prefix view was served the page stored without a prefix",
        )
        response = prefixed(self.factory.get(self.path))
        self.assertEqual((response.content, status(response)), (b"run 2", "HIT"))
        self.assertEqual(view(self.factory.get(self.path)).content, b"run 1")

    def test_get_cache_key_with_query(self):
        # Ported from django tests/cache/tests.py CacheUtils.test_get_cache_key_with_query
        view = cache_page(60)(run_view)
        view(self.factory.get(self.path))
        response = view(self.factory.get(self.path, {"test": 1}))
        self.assertEqual(
            (response.content, status(response)),
            (b"run 2", "MISS"),
            "The querystring must be taken into account",
        )
        response = view(self.factory.get(self.path, {"test": 1}))
        self.assertEqual((response.content, status(response)), (b"run 2", "HIT"))

    def test_cache_key_varies_by_url(self):
        # Ported from django tests/cache/tests.py CacheUtils.test_cache_key_varies_by_url
        """Entries differ by fully-qualified URL instead of path."""
        view = cache_page(60)(run_view)
        one = view(self.factory.get(self.path, headers={"host": "sub-1.example.com"}))
        two = view(self.factory.get(self.path, headers={"host": "sub-2.example.com"}))
        self.assertEqual(
            (one.content, two.content),
            (b"run 1", b"run 2"),
            "sub-2.example.com was served the page of sub-1.example.com",
        )
        again = view(self.factory.get(self.path, headers={"host": "sub-1.example.com"}))
        self.assertEqual((again.content, status(again)), (b"run 1", "HIT"))

    def test_learn_cache_key(self):
        # Ported from django tests/cache/tests.py CacheUtils.test_learn_cache_key
        """The Vary header of the response is part of the key, for GET and HEAD alike."""
        view = cache_page(60)(varying_view(None, ("Pony",)))
        view(self.factory.get(self.path, HTTP_PONY="a"))
        head = view(self.factory.head(self.path, HTTP_PONY="a"))
        self.assertEqual(
            (head.content, status(head)),
            (b"run 1", "HIT"),
            "a HEAD with the same Pony must be answered from the GET entry",
        )
        other = view(self.factory.head(self.path, HTTP_PONY="b"))
        self.assertEqual(
            other.content, b"run 2", "a HEAD with another Pony was served the page for Pony: a"
        )
        other = view(self.factory.get(self.path, HTTP_PONY="b"))
        self.assertEqual(
            other.content, b"run 3", "a GET with another Pony was served the page for Pony: a"
        )

    def test_cache_key_blank_header(self):
        # Ported from django tests/cache/tests.py CacheUtils.test_cache_key_blank_header
        """An absent field must be distinguished from a present-but-empty field
        (RFC 9111, Section 4.1)."""
        view = cache_page(60)(varying_view(None, ("Pony",)))
        view(self.factory.get(self.path))
        empty = view(self.factory.get(self.path, HTTP_PONY=""))
        self.assertEqual(
            empty.content,
            b"run 2",
            "a request with an empty Pony header was served the page made without one",
        )
        self.assertEqual(view(self.factory.get(self.path, HTTP_PONY="")).content, b"run 2")
        self.assertEqual(view(self.factory.get(self.path)).content, b"run 1")

    def test_patch_cache_control(self):
        # Ported from django tests/cache/tests.py CacheUtils.test_patch_cache_control
        tests = (
            # Initial Cache-Control, kwargs to patch_cache_control, expected parts.
            (None, {"private": True}, {"private"}),
            ("", {"private": True}, {"private"}),
            ("", {"no_cache": "Set-Cookie"}, {"no-cache=Set-Cookie"}),
            ("", {"no-cache": "Set-Cookie"}, {"no-cache=Set-Cookie"}),
            ("no-cache=Set-Cookie", {"no_cache": True}, {"no-cache"}),
            ("no-cache=Set-Cookie,no-cache=Link", {"no_cache": True}, {"no-cache"}),
            ("no-cache=Set-Cookie", {"no_cache": "Link"}, {"no-cache=Set-Cookie", "no-cache=Link"}),
            (
                "no-cache=Set-Cookie,no-cache=Link",
                {"no_cache": "Custom"},
                {"no-cache=Set-Cookie", "no-cache=Link", "no-cache=Custom"},
            ),
            # private and public are mutually exclusive.
            ("private", {"private": True}, {"private"}),
            ("private", {"public": True}, {"public"}),
            ("public", {"public": True}, {"public"}),
            ("public", {"private": True}, {"private"}),
            (
                "must-revalidate,max-age=60,private",
                {"public": True},
                {"must-revalidate", "max-age=60", "public"},
            ),
            (
                "must-revalidate,max-age=60,public",
                {"private": True},
                {"must-revalidate", "max-age=60", "private"},
            ),
            (
                "must-revalidate,max-age=60",
                {"public": True},
                {"must-revalidate", "max-age=60", "public"},
            ),
        )
        for number, (initial_cc, newheaders, expected_cc) in enumerate(tests):
            with self.subTest(initial_cc=initial_cc, newheaders=newheaders):
                name = f"cc{number}"

                @cache_page(60)
                def view(request, initial_cc=initial_cc, newheaders=newheaders, name=name):
                    ran(name)
                    response = HttpResponse(f"run {CALLS[name]}")
                    if initial_cc is not None:
                        response.headers["Cache-Control"] = initial_cc
                    patch_cache_control(response, **newheaders)
                    return response

                path = f"{self.path}{number}/"
                view(self.factory.get(path))
                response = view(self.factory.get(path))
                parts = set(re.split(r"\s*,\s*", response.headers["Cache-Control"]))
                self.assertEqual(parts, expected_cc, "the client got another Cache-Control")
                private = any(p == "private" or p.startswith("no-cache") for p in expected_cc)
                if private:
                    self.assertEqual(
                        CALLS[name], 2, f"a response with Cache-Control {parts} was cached"
                    )
                else:
                    self.assertEqual(
                        (response.content, status(response)),
                        (b"run 1", "HIT"),
                        f"a response with Cache-Control {parts} must be cached",
                    )

    def test_has_vary_header(self):
        # Ported from django tests/cache/tests.py CacheUtils.test_has_vary_header
        # Vary values with "*" in any spelling are never stored; Cookie in any case and
        # spacing makes the entry vary on the request's cookies.
        for number, header_value in enumerate(
            ("*", "Cookie, *", "Cookie,*", "Cookie , *", "* ", " *", "Cookie, * ")
        ):
            with self.subTest(vary=header_value):
                view = cache_page(60)(varying_view(header_value, (), f"star{number}"))
                path = f"{self.path}star{number}/"
                view(self.factory.get(path))
                view(self.factory.get(path))
                self.assertEqual(
                    CALLS[f"star{number}"],
                    2,
                    f"a response with Vary: {header_value!r} was served from the cache",
                )
        for number, header_value in enumerate((" Cookie", "Cookie", "cookie")):
            with self.subTest(vary=header_value):
                view = cache_page(60)(varying_view(header_value, (), f"cookie{number}"))
                path = f"{self.path}cookie{number}/"
                first = view(self.factory.get(path, HTTP_COOKIE="flavour=oat"))
                again = view(self.factory.get(path, HTTP_COOKIE="flavour=oat"))
                self.assertEqual(
                    (again.content, status(again)), (first.content, "HIT"), "same cookie: hit"
                )
                other = view(self.factory.get(path, HTTP_COOKIE="flavour=rye"))
                self.assertNotEqual(
                    other.content,
                    first.content,
                    f"Vary: {header_value!r}: another cookie was served the first client's page",
                )


@override_settings(SMARTCACHE={"KEY_PREFIX": "cacheprefix"})
class PrefixedCacheUtils(CacheUtils):
    pass
