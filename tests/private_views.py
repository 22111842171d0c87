"""Views for the privacy tests: entries that read the visitor, and class-based views."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.generic import ListView, TemplateView

from django_smartcache import cache_page, cached
from tests.testapp.models import Product
from tests.views import TICKS, ran

TOKENS = {"Token alice-secret": "alice", "Token bob-secret": "bob"}


def _token_owner(request) -> str:
    """Authentication from the Authorization header, as Django REST framework does it."""
    return TOKENS.get(request.headers.get("Authorization", ""), "anonymous")


@cache_page(60)
def api_me(request):
    ran("api_me")
    return HttpResponse(f"account of {_token_owner(request)}")


@cache_page(60)
def api_public(request):
    ran("api_public")
    response = HttpResponse(f"public catalogue for {_token_owner(request)}")
    response["Cache-Control"] = "public, max-age=60"
    return response


@cache_page(60)
def raw_cookie(request):
    ran("raw_cookie")
    response = HttpResponse("raw cookie")
    response["Set-Cookie"] = f"sessionid=visitor-{request.GET.get('who', 'x')}; Path=/"
    return response


def _page(template):
    def view(request):
        return render(request, f"private_tests/{template}.html", {"tick": TICKS})

    return view


@cache_page(60)
def session_fragment_page(request):
    ran("session_fragment_page")
    return render(request, "private_tests/session_fragment.html", {"tick": TICKS})


def put_in_session(request):
    request.session["cart"] = int(request.GET["cart"])
    return HttpResponse("ok")


def queue_message(request):
    messages.info(request, request.GET["text"])
    return HttpResponse("queued")


@cached(timeout=60, key=lambda request: "fixed")
def greeting(request) -> str:
    ran("greeting")
    return f"hello {request.user.get_username() or 'stranger'}"


@cached(timeout=60, key=lambda request: f"user-{request.user.pk}")
def greeting_by_custom_key(request) -> str:
    """A custom key cannot be checked to name the user: never stored."""
    ran("greeting_by_custom_key")
    return f"hello {request.user.get_username() or 'stranger'}"


@cached(timeout=60)
def greeting_for(user) -> str:
    """The user is an argument, so part of the key: one entry per user."""
    ran("greeting_for")
    return f"hello {user.get_username() or 'stranger'}"


@cached(timeout=60, key=lambda request: "cart")
def cart_summary(request) -> str:
    ran("cart_summary")
    return f"cart={request.session.get('cart', 0)}"


def function_view(request, which):
    if which == "per-user":
        return HttpResponse(greeting_for(request.user))
    fn = {"greeting": greeting, "custom-key": greeting_by_custom_key, "cart": cart_summary}[which]
    return HttpResponse(fn(request))


class PlainProductList(ListView):
    model = Product
    template_name = "private_tests/template_view.html"
    ordering = ["pk"]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "tick": TICKS}


@method_decorator(cache_page(60), name="dispatch")  # as the docs show
class ProductList(PlainProductList):
    pass


BROKEN = {"on": True}


class Boom:
    @property
    def now(self):
        if BROKEN["on"]:
            raise RuntimeError("the template failed")
        return "fine"


@method_decorator(cache_page(60), name="dispatch")
class BrokenTemplate(TemplateView):
    template_name = "private_tests/broken.html"

    def get_context_data(self, **kwargs):
        ran("broken_template")
        return {"boom": Boom()}


urlpatterns = [
    path("api/me/", api_me),
    path("api/public/", api_public),
    path("raw-cookie/", raw_cookie),
    path("fragment/session/", _page("session_fragment")),
    path("fragment/session-page/", session_fragment_page),
    path("fragment/user/", _page("user_fragment")),
    path("fragment/user-request/", _page("user_fragment_request")),
    path("fragment/per-user/", _page("per_user_fragment")),
    path("fragment/messages/", _page("messages_fragment")),
    path("fragment/nested/", _page("outer_inner")),
    path("session/put/", put_in_session),
    path("messages/queue/", queue_message),
    path("function/<str:which>/", function_view),
    path("cbv/products/", ProductList.as_view()),
    path("cbv/products-wrapped/", cache_page(60)(PlainProductList.as_view())),
    path("cbv/broken/", BrokenTemplate.as_view()),
]
