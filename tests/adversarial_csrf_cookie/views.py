"""Views and middleware for the CSRF-cookie adversarial tests."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token, rotate_token
from django.shortcuts import render
from django.urls import path
from django.utils.decorators import decorator_from_middleware

from django_smartcache import cache_page
from tests.views import ran

FORM = "smartcache_tests/csrf_form.html"


# --------------------------------------------------------------------------- middleware


class RebuildingMiddleware:
    """A content-rewriting middleware (an HTML minifier, say) placed after
    CsrfViewMiddleware: it returns a *new* response with the rewritten body and the
    old headers. Django's CSRF middleware sets its cookie on whatever comes back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
            return response
        rebuilt = HttpResponse(b" ".join(response.content.split()), status=response.status_code)
        for name, value in response.items():
            if name.lower() != "content-length":
                rebuilt[name] = value
        return rebuilt


class ProjectCsrfMiddleware(CsrfViewMiddleware):
    """A project's own CSRF middleware subclass, used as a view decorator on a few
    views (Django's own middleware stays in MIDDLEWARE): it sets the cookie its way."""

    def _set_csrf_cookie(self, request, response):
        super()._set_csrf_cookie(request, response)
        if not settings.CSRF_USE_SESSIONS:
            response.cookies[settings.CSRF_COOKIE_NAME]["path"] = "/project/"


project_csrf = decorator_from_middleware(ProjectCsrfMiddleware)


# --------------------------------------------------------------------------- views


@cache_page(60)
def form_page(request):
    ran("form_page")
    return render(request, FORM)


@cache_page(60)
def second_form_page(request):
    ran("second_form_page")
    return render(request, FORM)


@project_csrf
@cache_page(60)
def project_form_page(request):
    ran("project_form_page")
    return render(request, FORM)


@cache_page(60)
def rotating_login_page(request):
    """A login form that gets a fresh CSRF secret each time it is shown (no token fixation)."""
    ran("rotating_login_page")
    rotate_token(request)
    return render(request, FORM)


@cache_page(60)
def canonical(request):
    """A page that links to itself absolutely: request.build_absolute_uri() checks the host."""
    ran("canonical")
    return HttpResponse(f'<link rel="canonical" href="{request.build_absolute_uri()}">')


@cache_page(60)
def spa_shell(request):
    """Hands the CSRF cookie to the page's JavaScript (for X-CSRFToken on AJAX calls)."""
    ran("spa_shell")
    value = request.COOKIES.get(settings.CSRF_COOKIE_NAME, "")
    return HttpResponse(f'<script>window.CSRF_COOKIE = "{value}";</script>')


@cache_page(60)
def returning_only_form(request):
    """Shows the form only to visitors who already have the CSRF cookie (cookies work)."""
    ran("returning_only_form")
    if settings.CSRF_COOKIE_NAME in request.COOKIES:
        return render(request, FORM)
    return HttpResponse("<p>Welcome! Browse a little first.</p>")


def token(request):
    """Uncached: gives the visitor a CSRF cookie."""
    get_token(request)
    return HttpResponse("ok")


def post(request):
    return HttpResponse("posted")


urlpatterns = [
    path("form/", form_page),
    path("form2/", second_form_page),
    path("project/form/", project_form_page),
    path("login/", rotating_login_page),
    path("canonical/", canonical),
    path("spa/", spa_shell),
    path("returning/", returning_only_form),
    path("token/", token),
    path("post/", post),
]
