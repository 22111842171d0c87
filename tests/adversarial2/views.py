"""Views for the second adversarial review: reads of the visitor the stand-ins do not see."""

from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from django_smartcache import cache_page, cached
from tests.views import ran

T = "adversarial2"


def put_in_session(request):
    for key, value in request.GET.items():
        request.session[key] = value
    return HttpResponse("ok")


# ----------------------------------------------------------------- reads before the view


class SessionKeyCartMiddleware:
    """Shops keying carts on the session key: reading ``session_key`` does not set
    ``session.accessed``, so the page's ``read_before`` check never fires."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.session.session_key
        request.cart = f"cart-of-{key}" if key else "empty"
        return self.get_response(request)


class CookieCartMiddleware:
    """A cart id kept in its own cookie, read before the view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.cart = request.COOKIES.get("cart", "empty")
        return self.get_response(request)


class SessionCartMiddleware:
    """Reads the session before the view (accessed=True) and stashes what it read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.cart = request.session.get("cart", "empty")
        return self.get_response(request)


class ProfileMiddleware:
    """Stores user-derived data on the request (``request.profile``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        request.profile = {"name": user.get_username(), "email": getattr(user, "email", "")}
        return self.get_response(request)


@cache_page(60)
def cart_page(request):
    ran("cart_page")
    return HttpResponse(f"cart={getattr(request, 'cart', '?')}")


def fragment_page(template):
    def view(request):
        ran(template)
        return render(request, f"{T}/{template}.html")

    return view


# ------------------------------------------------------- reads that skip the stand-ins


@cache_page(60)
def raw_cookie_header(request):
    ran("raw_cookie_header")
    return HttpResponse(f"cookies: {request.META.get('HTTP_COOKIE', '')}")


@cache_page(60)
def headers_cookie(request):
    ran("headers_cookie")
    return HttpResponse(f"cookies: {request.headers.get('Cookie', '')}")


@cache_page(60)
def signed_cookie(request):
    ran("signed_cookie")
    return HttpResponse(f"who: {request.get_signed_cookie('who', default='nobody')}")


@cache_page(60)
def popped_cookie(request):
    ran("popped_cookie")
    return HttpResponse(f"jwt: {request.COOKIES.pop('jwt', 'none')}")


@cache_page(60)
def session_in_thread(request):
    ran("session_in_thread")
    with ThreadPoolExecutor(1) as pool:
        cart = pool.submit(lambda: request.session.get("cart", "empty")).result()
    return HttpResponse(f"cart={cart}")


@cache_page(60)
def cookie_in_thread(request):
    ran("cookie_in_thread")
    found = {}
    worker = threading.Thread(target=lambda: found.update(jwt=request.COOKIES.get("jwt")))
    worker.start()
    worker.join()
    return HttpResponse(f"jwt={found.get('jwt')}")


@cache_page(60)
async def async_session_executor(request):
    ran("async_session_executor")
    loop = asyncio.get_running_loop()
    cart = await loop.run_in_executor(None, lambda: request.session.get("cart", "empty"))
    return HttpResponse(f"cart={cart}")


@cache_page(60)
async def async_session_sync_to_async(request):
    from asgiref.sync import sync_to_async

    ran("async_session_sync_to_async")
    cart = await sync_to_async(lambda: request.session.get("cart", "empty"))()
    return HttpResponse(f"cart={cart}")


def captured_session(view):
    """A decorator *outside* cache_page hands the session on before the watch starts."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        return view(request, *args, session=request.session, **kwargs)

    return wrapper


@captured_session
@cache_page(60)
def captured_session_page(request, session):
    ran("captured_session_page")
    return HttpResponse(f"cart={session.get('cart', 'empty')}")


class ApiRequest:
    """A DRF-style wrapper: own attributes, the rest delegated to ``_request``."""

    def __init__(self, request):
        self._request = request

    def __getattr__(self, name):
        return getattr(self._request, name)


def api_view(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        return view(ApiRequest(request), *args, **kwargs)

    return wrapper


@api_view
@cache_page(60)
def api_cart(request):
    ran("api_cart")
    return HttpResponse(f"cart={request.session.get('cart', 'empty')}")


# ---------------------------------------------------------- functions: user channels


@cached(timeout=60, key=lambda request: "cached-user")
def name_from_cached_user(request) -> str:
    ran("name_from_cached_user")
    return f"hello {request._cached_user.get_username() or 'stranger'}"


def cached_user_view(request):
    request.user.get_username()  # the user is loaded before (as any middleware would)
    return HttpResponse(name_from_cached_user(request))


@cached(timeout=60, key=lambda request: "nav-isinstance")
def nav_by_isinstance(request) -> str:
    ran("nav_by_isinstance")
    return "sign in" if isinstance(request.user, AnonymousUser) else "your account"


def nav_isinstance_view(request):
    return HttpResponse(nav_by_isinstance(request))


@cached(timeout=60, key=lambda user: f"badge-{user.is_staff}")
def badge(user) -> str:
    ran("badge")
    return f"badge for {user.get_username()}"


def badge_view(request):
    return HttpResponse(badge(request.user))


# ---------------------------------------------------------------- exemptions abused


def profile_view(request, pk):
    ran("profile_view")
    owner = User.objects.get(pk=pk)
    return render(request, f"{T}/profile.html", {"owner": owner})


urlpatterns = [
    path("session/put/", put_in_session),
    path("cart/", cart_page),
    path("frag/cart/", fragment_page("cart_fragment")),
    path("frag/profile-attr/", fragment_page("profile_fragment")),
    path("raw-cookie/", raw_cookie_header),
    path("headers-cookie/", headers_cookie),
    path("signed-cookie/", signed_cookie),
    path("popped-cookie/", popped_cookie),
    path("thread/session/", session_in_thread),
    path("thread/cookie/", cookie_in_thread),
    path("async/executor/", async_session_executor),
    path("async/sync-to-async/", async_session_sync_to_async),
    path("captured-session/", captured_session_page),
    path("api/cart/", api_cart),
    path("fn/cached-user/", cached_user_view),
    path("fn/nav-isinstance/", nav_isinstance_view),
    path("fn/badge/", badge_view),
    path("profile/<int:pk>/", profile_view),
    path("frag/email-vary/", fragment_page("email_vary")),
]
