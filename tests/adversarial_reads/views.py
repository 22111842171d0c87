"""Views for the cookie-read adversarial tests (``tests/adversarial_reads``).

Each view shows ``HAS`` when the visitor sent the cookie it looks at, ``NONE`` otherwise
(or shows the cookie itself): had it run for each visitor, Django would answer each one
from their own cookies.
"""

from __future__ import annotations

import functools

from django.core import signing
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import path
from django.views.generic import TemplateView

from django_smartcache import cache_page

NAME = "csrftoken"  # settings.CSRF_COOKIE_NAME in tests.settings


def answer(flag) -> HttpResponse:
    return HttpResponse("HAS" if flag else "NONE")


# --------------------------------------------------------------- templates (Django frames)


@cache_page(60)
def template_lookup(request):
    """``{% if request.COOKIES.csrftoken %}``: the lookup is made by django.template.base."""
    return render(request, "adversarial_reads/lookup.html")


@cache_page(60)
def template_show(request):
    """``{{ request.COOKIES.csrftoken }}`` handed to the page's JavaScript."""
    return render(request, "adversarial_reads/show.html")


@cache_page(60)
def template_messages_cookie(request):
    """``{% if request.COOKIES.messages %}``: a 'you have notifications' badge."""
    return render(request, "adversarial_reads/messages_cookie.html")


@cache_page(60)
def template_cookies_var(request):
    """The view hands ``request.COOKIES`` to the template under another name."""
    return render(request, "adversarial_reads/cookies_var.html", {"cookies": request.COOKIES})


@cache_page(60)
def template_partial(request):
    """A ``functools.partial`` of ``request.COOKIES.get``, called by the template engine."""
    probe = functools.partial(request.COOKIES.get, NAME)
    return render(request, "adversarial_reads/call.html", {"probe": probe})


class CookieTemplateView(TemplateView):
    template_name = "adversarial_reads/lookup.html"


def uncached_with_fragment(request):
    """An uncached view whose template has a ``{% smartcache %}`` fragment reading the cookie."""
    return render(request, "adversarial_reads/frag.html")


# --------------------------------------------------------------- Django helpers from the view


@cache_page(60)
def signed_cookie(request):
    """``request.get_signed_cookie()``: HttpRequest (django.http.request) reads COOKIES[key]."""
    try:
        request.get_signed_cookie(NAME, salt="")
    except KeyError:
        return answer(False)
    except signing.BadSignature:
        return answer(True)
    return answer(True)


@cache_page(60)
def csrf_secret_in_meta(request):
    """The visitor's CSRF secret as CsrfViewMiddleware put it in META."""
    return answer(request.META.get("CSRF_COOKIE"))


# --------------------------------------------------------------- whole-dict reads not overridden


@cache_page(60)
def any_cookie_len(request):
    return answer(len(request.COOKIES))


@cache_page(60)
def any_cookie_bool(request):
    return answer(request.COOKIES)


@cache_page(60)
def cookies_repr(request):
    return HttpResponse(f"<pre>{request.COOKIES!r}</pre>")


@cache_page(60)
def template_dump(request):
    """``{{ request.COOKIES }}`` and ``{% if request.COOKIES %}`` (str() and bool())."""
    return render(request, "adversarial_reads/dump.html")


@cache_page(60)
def unbound_get(request):
    return answer(dict.get(request.COOKIES, NAME))


def token(request):
    """Uncached: gives the visitor a CSRF cookie."""
    get_token(request)
    return HttpResponse("ok")


urlpatterns = [
    path("t/lookup/", template_lookup),
    path("t/show/", template_show),
    path("t/messages/", template_messages_cookie),
    path("t/cookies_var/", template_cookies_var),
    path("t/partial/", template_partial),
    path("cbv/", cache_page(60)(CookieTemplateView.as_view())),
    path("frag/", uncached_with_fragment),
    path("signed/", signed_cookie),
    path("meta_secret/", csrf_secret_in_meta),
    path("len/", any_cookie_len),
    path("bool/", any_cookie_bool),
    path("repr/", cookies_repr),
    path("t/dump/", template_dump),
    path("unbound_get/", unbound_get),
    path("token/", token),
]
