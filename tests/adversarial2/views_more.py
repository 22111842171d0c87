"""Views: stand-ins that break user code, CSRF tricks, concurrency."""

from __future__ import annotations

import copy
import pickle

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.middleware.csrf import get_token, rotate_token
from django.shortcuts import render
from django.urls import path

from django_smartcache import cache_page, cached
from tests.views import PAUSE, ran

T = "adversarial2"


# ------------------------------------------------------- stand-ins vs ordinary code


@cache_page(60)
def copy_session(request):
    ran("copy_session")
    snapshot = copy.copy(request.session)
    return HttpResponse(f"keys={len(list(snapshot.keys()))}")


@cache_page(60)
def deepcopy_user(request):
    ran("deepcopy_user")
    clone = copy.deepcopy(request.user)
    return HttpResponse(f"anon={clone.is_anonymous}")


@cache_page(60)
def pickle_user(request):
    ran("pickle_user")
    clone = pickle.loads(pickle.dumps(request.user))
    return HttpResponse(f"anon={clone.is_anonymous}")


@cache_page(60)
def compare_user(request):
    ran("compare_user")
    first = User.objects.order_by("pk").first()
    same = first == request.user and request.user == first and request.user in [first]
    return HttpResponse(f"first={same} hash={hash(request.user) == hash(first)}")


@cache_page(60)
def magic_login(request):
    """Magic-link sign-in on GET (e-mail links), inside a cached view."""
    ran("magic_login")
    user = User.objects.get(username=request.GET["u"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse(f"welcome {request.user.get_username()}")


@cache_page(60)
def logout_page(request):
    ran("logout_page")
    logout(request)
    return HttpResponse(f"bye, now {request.user.get_username() or 'anonymous'}")


@cache_page(60)
def cycle_page(request):
    ran("cycle_page")
    request.session.cycle_key()
    return HttpResponse("cycled")


def remembers_cookie(view):
    """A decorator outside cache_page reads what the view put into request.COOKIES."""

    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["X-Seen"] = request.COOKIES.get("seen", "missing")
        return response

    return wrapper


@remembers_cookie
@cache_page(60)
def mutate_cookies(request):
    ran("mutate_cookies")
    request.COOKIES["seen"] = "yes"
    return HttpResponse("ok")


@cache_page(60)
def show_messages(request):
    ran("show_messages")
    return HttpResponse("|".join(str(m) for m in messages.get_messages(request)) or "none")


def queue_message(request):
    messages.info(request, request.GET["text"])
    return HttpResponse("queued")


# ---------------------------------------------------------------------------- CSRF


@cached(timeout=60, key=lambda token: "footer-form")
def footer_form(token: str) -> str:
    ran("footer_form")
    return f'<form method="post"><input name="csrfmiddlewaretoken" value="{token}"></form>'


def footer_form_view(request):
    return HttpResponse(footer_form(get_token(request)))


def rotated_fragment(request):
    ran("rotated_fragment")
    old = get_token(request)
    rotate_token(request)
    return render(request, f"{T}/rotated.html", {"old": old})


@cache_page(60)
def split_placeholder(request):
    ran("split_placeholder")
    return render(
        request, f"{T}/split.html", {"a": request.GET.get("a", ""), "b": request.GET.get("b", "")}
    )


@cache_page(60, depends_on=["adv2-form"])
def stale_form(request):
    ran("stale_form")
    return render(request, f"{T}/form.html")


@cache_page(60)
def vary_form(request):
    ran("vary_form")
    response = render(request, f"{T}/form.html")
    response["Vary"] = "X-Flag"
    return response


# ---------------------------------------------------------------------- concurrency


@cache_page(60)
def slow_session_page(request):
    ran("slow_session_page")
    cart = request.session.get("cart", "empty")
    PAUSE.point()
    return HttpResponse(f"cart={cart}")


def slow_fragment(request):
    ran("slow_fragment")
    return render(request, f"{T}/slow_fragment.html", {"pause": PAUSE})


urlpatterns = [
    path("copy-session/", copy_session),
    path("deepcopy-user/", deepcopy_user),
    path("pickle-user/", pickle_user),
    path("compare-user/", compare_user),
    path("magic-login/", magic_login),
    path("logout/", logout_page),
    path("cycle/", cycle_page),
    path("mutate-cookies/", mutate_cookies),
    path("show-messages/", show_messages),
    path("messages/queue/", queue_message),
    path("fn/footer-form/", footer_form_view),
    path("frag/rotated/", rotated_fragment),
    path("split/", split_placeholder),
    path("stale-form/", stale_form),
    path("vary-form/", vary_form),
    path("slow-session/", slow_session_page),
    path("frag/slow/", slow_fragment),
]
