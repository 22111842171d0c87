"""Views, sitemaps and template filters used by the ported Django tests (through ``urls.py``).

Every view counts its runs in ``tests.views.CALLS`` (reset before each test), and most put
the run number in their body, so a test can tell a cached copy from a fresh one.
"""

from __future__ import annotations

from datetime import date

from django import template
from django.contrib.sitemaps import Sitemap
from django.http import HttpResponse
from django.template.context_processors import csrf
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.views.generic import TemplateView

from django_smartcache import cache_page
from tests.views import CALLS, ran


def run(name: str) -> int:
    """Count one run of ``name`` and return its number (1 for the first run)."""
    ran(name)
    return CALLS[name]


# --------------------------------------------------------------------------- cookies, CSRF


@cache_page(3)
def csrf_view(request):
    """Django's ``csrf_view``: the body is the visitor's (masked) CSRF token."""
    run("csrf_view")
    return HttpResponse(csrf(request)["csrf_token"])


def accept_post(request):
    """Not cached; CsrfViewMiddleware rejects a POST whose token does not match the cookie."""
    return HttpResponse("accepted")


@cache_page(3)
def refreshing_cookie_view(request):
    """Django's ``refreshing_cookie_view``: refreshes the visitor's ``session`` cookie."""
    response = HttpResponse(f"content run {run('refreshing_cookie')}")
    response.set_cookie("session", f"new_value_{CALLS['refreshing_cookie']}")
    patch_vary_headers(response, ("Cookie",))
    return response


@cache_page(3)
def raw_refreshing_cookie_view(request):
    """The same, with the cookie written as a raw ``Set-Cookie`` header."""
    response = HttpResponse(f"content run {run('refreshing_cookie')}")
    response["Set-Cookie"] = f"session=new_value_{CALLS['refreshing_cookie']}; Path=/"
    patch_vary_headers(response, ("Cookie",))
    return response


# --------------------------------------------------------------------------- i18n


@cache_page(60)
def i18n_view(request):
    """The active language and the run number; varies like Django's CacheI18nTest responses."""
    response = HttpResponse(f"{get_language()} run {run('i18n')}")
    response["Vary"] = "cookie, accept-language, accept-encoding"
    return response


# --------------------------------------------------------------------------- TemplateResponse


@cache_page(1)
def template_response_view(request):
    """Django's ``template_tests.views.template_response_view``, cached for 1 s."""
    return TemplateResponse(
        request, "django_suite/response.html", {"run": run("template_response")}
    )


class AboutView(TemplateView):
    """``generic_views/about.html`` with the run number."""

    template_name = "django_suite/about.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "run": run("about")}


@method_decorator(cache_page(1), name="dispatch")
class CachedAboutView(AboutView):
    """The class-based way the docs show: ``method_decorator`` on ``dispatch``."""


# --------------------------------------------------------------------------- sitemaps


class SimpleSitemap(Sitemap):
    """Django's ``sitemaps_tests.urls.http.SimpleSitemap``."""

    changefreq = "never"
    priority = 0.5
    location = "/location/"
    lastmod = date.today()

    def items(self):
        ran("sitemap_items")
        return [object()]


simple_sitemaps = {"simple": SimpleSitemap}


# --------------------------------------------------------------------------- template filters

register = template.Library()


@register.filter
def noop(value, param=None):
    """Django's ``template_tests.templatetags.custom.noop``: returns ``value`` unchanged."""
    return value
