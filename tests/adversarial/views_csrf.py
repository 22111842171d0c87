"""Adversarial views, CSRF: tokens in every form a page can carry them."""

from __future__ import annotations

from django.http import HttpResponse
from django.middleware.csrf import get_token, rotate_token
from django.shortcuts import render
from django.urls import path
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.gzip import gzip_page

from django_smartcache import cache_page
from tests.views import ran

T = "adversarial"


# --------------------------------------------------------------------------- CSRF


@cache_page(60)
def echo_with_form(request):
    ran("echo_with_form")
    return render(request, f"{T}/echo_form.html", {"q": request.GET.get("q", "")})


@cache_page(60)
def adjacent_token(request):
    ran("adjacent_token")
    return render(request, f"{T}/adjacent_token.html")


@cache_page(60)
def utf16_token(request):
    ran("utf16_token")
    text = f'<form><input name="csrfmiddlewaretoken" value="{get_token(request)}"></form>'
    return HttpResponse(text, content_type="text/html; charset=utf-16")


@cache_page(60)
@gzip_page
def gzip_form(request):
    ran("gzip_form")
    return render(request, "smartcache_tests/csrf_form.html", {"pad": "x" * 400})


@cache_page(60)
def plain_form(request):
    ran("plain_form")
    return render(request, "smartcache_tests/csrf_form.html")


@ensure_csrf_cookie
@cache_page(60)
def ensure_outside(request):
    ran("ensure_outside")
    return HttpResponse("no form here")


@cache_page(60)
@ensure_csrf_cookie
def ensure_inside(request):
    ran("ensure_inside")
    return HttpResponse("no form here")


@csrf_exempt
@cache_page(60)
def exempt_form(request):
    ran("exempt_form")
    return render(request, "smartcache_tests/csrf_form.html")


@cache_page(60)
def rotate_then_form(request):
    ran("rotate_then_form")
    get_token(request)
    rotate_token(request)
    return render(request, "smartcache_tests/csrf_form.html")


@cache_page(60)
def form_then_rotate(request):
    ran("form_then_rotate")
    response = render(request, "smartcache_tests/csrf_form.html")
    rotate_token(request)
    return response


@cache_page(60)
def token_in_json(request):
    ran("token_in_json")
    import json

    return HttpResponse(json.dumps({"csrf": get_token(request)}), content_type="application/json")


@cache_page(60)
def token_in_comment(request):
    ran("token_in_comment")
    return HttpResponse(f"<!-- token {get_token(request)} -->page")


urlpatterns = [
    path("echo-form/", echo_with_form),
    path("adjacent-token/", adjacent_token),
    path("utf16-token/", utf16_token),
    path("gzip-form/", gzip_form),
    path("plain-form/", plain_form),
    path("ensure-outside/", ensure_outside),
    path("ensure-inside/", ensure_inside),
    path("exempt-form/", exempt_form),
    path("rotate-then-form/", rotate_then_form),
    path("form-then-rotate/", form_then_rotate),
    path("token-json/", token_in_json),
    path("token-comment/", token_in_comment),
]
