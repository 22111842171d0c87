"""Ported from Django 5.2 tests/cache/tests.py: CacheI18nTest and PrefixedCacheI18nTest.

Django checks that the cache key contains (or not) the active language and time zone. Here the
same rule is checked by its effect: a page cached while one language (or zone) is active is
served while that language is active again, and never while another one is.
``PrefixedCacheI18nTest`` reruns everything under another ``SMARTCACHE["KEY_PREFIX"]``, the
counterpart of Django's cache ``KEY_PREFIX``.
"""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.test import TestCase, modify_settings, override_settings
from django.utils import timezone, translation

from django_smartcache import cache_page
from tests.django_suite.support import factory, status
from tests.views import CALLS, ran

PATH = "/cache/test/"
MESSAGES = {"en": "Hello world!", "es": "Hola mundo!"}


def language_view(request):
    ran("language_view")
    return HttpResponse(f"{translation.get_language()} run {CALLS['language_view']}")


def message_view(request):
    ran("message_view")
    if request.GET:
        return HttpResponse(f"Check for cache with QUERY_STRING run {CALLS['message_view']}")
    return HttpResponse(MESSAGES[translation.get_language()])


@override_settings(LANGUAGE_CODE="en", LANGUAGES=[("en", "English"), ("es", "Spanish")])
class CacheI18nTest(TestCase):
    def get(self, view, language, data=None, **meta):
        """``view``'s response to a GET of ``PATH`` while ``language`` is active."""
        with translation.override(language):
            return view(factory.get(PATH, data, **meta))

    @override_settings(USE_I18N=True, USE_TZ=False)
    def test_cache_key_i18n_translation(self):
        # Ported from django tests/cache/tests.py CacheI18nTest.test_cache_key_i18n_translation
        view = cache_page(60)(language_view)
        self.get(view, "en")
        response = self.get(view, "en")
        self.assertEqual((response.content, status(response)), (b"en run 1", "HIT"))
        response = self.get(view, "es")
        self.assertEqual(
            response.content,
            b"es run 2",
            "the page cached for 'en' was served while 'es' was active",
        )
        response = self.get(view, "en")
        self.assertEqual(response.content, b"en run 1", "the 'en' page must still be cached")

    @override_settings(USE_I18N=True, USE_TZ=False, ROOT_URLCONF="tests.django_suite.urls")
    @modify_settings(MIDDLEWARE={"append": "django.middleware.locale.LocaleMiddleware"})
    def test_cache_key_i18n_translation_accept_language(self):
        # Ported from django tests/cache/tests.py
        # CacheI18nTest.test_cache_key_i18n_translation_accept_language
        # With USE_I18N the active language is part of the key, so the raw Accept-Language
        # strings that all make LocaleMiddleware choose "en" share one entry (#18191),
        # although the response varies on Accept-Language.
        encoding = "gzip;q=1.0, identity; q=0.5, *;q=0"

        def get(accept_language, accept_encoding=encoding):
            return self.client.get(
                "/i18n/",
                headers={"accept-language": accept_language, "accept-encoding": accept_encoding},
            )

        get("en-us")
        for accept_language in (
            "en-US",
            "en-US,en;q=0.8",
            "en-US,en;q=0.8,ko;q=0.6",
            "ko-kr,ko;q=0.8,en-us;q=0.5,en;q=0.3 ",
            "ko-KR,ko;q=0.8,en-US;q=0.6,en;q=0.4",
            "ko;q=1.0,en;q=0.5",
            "ko, en",
            "ko-KR, en-US",
        ):
            with self.subTest(accept_language=accept_language):
                response = get(accept_language)
                self.assertEqual(
                    (response.content, status(response)),
                    (b"en run 1", "HIT"),
                    "each raw Accept-Language string got its own entry although the "
                    "language it selects ('en') is the same",
                )
        response = get("es")
        self.assertEqual(response.content, b"es run 2", "'es' was served the 'en' page")
        response = get("en", accept_encoding="br")
        self.assertEqual(
            response.content,
            b"en run 3",
            "Accept-Encoding is still in Vary: another encoding must not share the entry",
        )

    @override_settings(USE_I18N=False, USE_TZ=True)
    def test_cache_key_i18n_timezone(self):
        # Ported from django tests/cache/tests.py CacheI18nTest.test_cache_key_i18n_timezone
        view = cache_page(60)(language_view)
        with timezone.override("America/Chicago"):
            self.get(view, "en")
            response = self.get(view, "en")
            self.assertEqual(status(response), "HIT", "same zone: the page must be cached")
        with timezone.override("Asia/Tokyo"):
            response = self.get(view, "en")
            self.assertEqual(
                status(response), "MISS", "the page cached in America/Chicago was served in Tokyo"
            )
        self.assertEqual(CALLS["language_view"], 2)

    @override_settings(USE_I18N=False, USE_TZ=False)
    def test_cache_key_no_i18n(self):
        # Ported from django tests/cache/tests.py CacheI18nTest.test_cache_key_no_i18n
        view = cache_page(60)(language_view)
        with timezone.override("America/Chicago"):
            self.get(view, "en")
        with timezone.override("Asia/Tokyo"):
            response = self.get(view, "es")
        self.assertEqual(
            status(response),
            "HIT",
            "without USE_I18N and USE_TZ, neither the language nor the zone may split the cache",
        )
        self.assertEqual(CALLS["language_view"], 1)

    @override_settings(USE_I18N=True)
    def test_middleware(self):
        # Ported from django tests/cache/tests.py CacheI18nTest.test_middleware
        view = cache_page(60)(message_view)
        # Cache with a non-empty request.GET.
        first = self.get(view, "en", {"foo": "bar", "other": "true"})
        self.assertEqual(status(first), "MISS", "first access: nothing can be cached yet")
        response = self.get(view, "en", {"foo": "bar", "other": "true"})
        self.assertEqual(
            (response.content, status(response)),
            (b"Check for cache with QUERY_STRING run 1", "HIT"),
            "the same query string must be served from the cache",
        )
        response = self.get(view, "en", {"foo": "bar", "somethingelse": "true"})
        self.assertEqual(
            status(response), "MISS", "another QUERY_STRING was served the cached page"
        )
        # i18n: one entry per language, each served while its language is active.
        self.assertEqual(self.get(view, "en").content, MESSAGES["en"].encode())
        self.assertEqual(self.get(view, "es").content, MESSAGES["es"].encode())
        for language in ("en", "es"):
            response = self.get(view, language)
            self.assertEqual(
                (response.content, status(response)),
                (MESSAGES[language].encode(), "HIT"),
                f"the page cached for {language!r} must be served while it is active",
            )

    def test_middleware_doesnt_cache_streaming_response(self):
        # Ported from django tests/cache/tests.py
        # CacheI18nTest.test_middleware_doesnt_cache_streaming_response
        @cache_page(60)
        def view(request):
            ran("stream")
            return StreamingHttpResponse(["Check for cache with streaming content."])

        for _ in range(2):
            response = view(factory.get(PATH))
            self.assertEqual(
                b"".join(response.streaming_content), b"Check for cache with streaming content."
            )
        self.assertEqual(CALLS["stream"], 2, "a streaming response was served from the cache")


@override_settings(SMARTCACHE={"KEY_PREFIX": "cacheprefix"})
class PrefixedCacheI18nTest(CacheI18nTest):
    pass
