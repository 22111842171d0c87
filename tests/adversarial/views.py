"""Views for the adversarial review: each tries to slip something private into a shared entry."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.generic import TemplateView

from django_smartcache import cache_page, cached
from tests.views import ran

T = "adversarial"


# --------------------------------------------------------------------------- helpers


def put_in_session(request):
    for key, value in request.GET.items():
        request.session[key] = value
    return HttpResponse("ok")


def queue_message(request):
    messages.info(request, request.GET["text"])
    return HttpResponse("queued")


# ------------------------------------------------------------------- pages: session / cookies


@cache_page(60)
def session_key_page(request):
    ran("session_key_page")
    return render(request, f"{T}/session_key.html")


@cache_page(60)
def session_key_in_view(request):
    ran("session_key_in_view")
    return HttpResponse(f"<p data-session='{request.session.session_key}'>hello</p>")


@cache_page(60)
def private_api_with_fragment(request):
    """A non-public answer to a token (never stored) whose template has a fragment."""
    ran("private_api_with_fragment")
    return render(request, f"{T}/auth_fragment.html")


@cache_page(60)
def cookie_page(request):
    ran("cookie_page")
    who = request.COOKIES.get("jwt", "nobody")
    return HttpResponse(f"signed in as {who}")


@cache_page(60)
def session_store_page(request):
    ran("session_store_page")
    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore(session_key=request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    return HttpResponse(f"cart={store.get('cart', 'empty')}")


class StashCartMiddleware:
    """Reads the session before the view, as many shops do for a cart badge."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.cart = request.session.get("cart", "empty")
        return self.get_response(request)


@cache_page(60)
def stashed_cart_page(request):
    ran("stashed_cart_page")
    return HttpResponse(f"cart={getattr(request, 'cart', '?')}")


@cache_page(60)
def message_count_page(request):
    ran("message_count_page")
    return render(request, f"{T}/message_count.html")


@cache_page(60)
def adds_message_page(request):
    ran("adds_message_page")
    messages.info(request, "welcome, first visit")
    return HttpResponse("page that queues a message it does not show")


# ------------------------------------------------------------ pages: cookies in other forms


@cache_page(60)
def cookie_via_headers_kwarg(request):
    ran("cookie_via_headers_kwarg")
    return HttpResponse("x", headers={"set-cookie": f"who={request.GET.get('who', 'x')}; Path=/"})


@cache_page(60)
def cookie_via_setdefault(request):
    ran("cookie_via_setdefault")
    response = HttpResponse("x")
    response.headers.setdefault("SET-COOKIE", f"who={request.GET.get('who', 'x')}")
    return response


@cache_page(60)
def cookie_deleted(request):
    ran("cookie_deleted")
    response = HttpResponse("x")
    response.delete_cookie("tracking")
    return response


def _add_cookie(response):
    response.set_cookie("seen", "yes")


class CookieInCallback(TemplateView):
    template_name = f"{T}/plain.html"

    def get(self, request, *args, **kwargs):
        ran("cookie_in_callback")
        response = super().get(request, *args, **kwargs)
        response.add_post_render_callback(_add_cookie)
        return response


cookie_in_callback = cache_page(60)(CookieInCallback.as_view())


# --------------------------------------------------------------------------- Authorization


@cache_page(60)
def proxy_auth_page(request):
    ran("proxy_auth_page")
    response = HttpResponse(f"account of {request.headers.get('Proxy-Authorization', 'anonymous')}")
    return response


@cache_page(60)
def auth_public_with_fragment(request):
    """A public API response (may be stored per token) whose template shows a fragment."""
    ran("auth_public_with_fragment")
    response = render(request, f"{T}/auth_fragment.html")
    response["Cache-Control"] = "public"
    return response


# --------------------------------------------------------------------------- fragments


def fragment_page(template):
    def view(request):
        ran(template)
        return render(request, f"{T}/{template}.html", {"q": request.GET.get("q", "")})

    return view


def fragment_user_in_context(request):
    ran("fragment_user_in_context")
    request.user.get_username()  # the view itself looks at the user (greets, logs, ...)
    return render(request, f"{T}/user_in_context.html", {"me": request.user})


@cache_page(60)
def cached_fragment_user_in_context(request):
    ran("cached_fragment_user_in_context")
    request.user.get_username()
    return render(request, f"{T}/user_in_context.html", {"me": request.user})


def fragment_without_request(request):
    """A partial rendered without the request, the token passed in the context."""
    ran("fragment_without_request")
    html = render_to_string(f"{T}/form_partial.html", {"csrf_token": get_token(request)})
    return HttpResponse(html)


@cache_page(60)
def cached_page_auth_fragment(request):
    ran("cached_page_auth_fragment")
    return render(request, f"{T}/auth_state_fragment.html")


# --------------------------------------------------------------------------- functions


@cached(timeout=60, key=lambda request: "token-fn")
def token_fn(request) -> str:
    ran("token_fn")
    return get_token(request)


@cache_page(60)
def page_with_token_fn(request):
    ran("page_with_token_fn")
    return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{token_fn(request)}">')


@cached(timeout=60, key=lambda request: "notices")
def notices(request) -> list[str]:
    ran("notices")
    return [str(m) for m in messages.get_messages(request)]


def notices_view(request):
    return HttpResponse(",".join(notices(request)) or "none")


@cached(timeout=60, key=lambda request: f"signed-in-{request.user.is_authenticated}")
def greeting_by_state(request) -> str:
    ran("greeting_by_state")
    return f"hello {request.user.get_username() or 'stranger'}"


def greeting_by_state_view(request):
    return HttpResponse(greeting_by_state(request))


# --------------------------------------------------------------------------- Vary


@cache_page(60)
def vary_switch(request):
    """Varies on X-A when the request has it, else on X-B (two different Vary sets)."""
    ran("vary_switch")
    a, b = request.headers.get("X-A"), request.headers.get("X-B")
    response = HttpResponse(f"A={a} B={b}")
    response["Vary"] = "X-A" if a is not None else "X-B"
    return response


@cache_page(60)
def vary_plain(request):
    ran("vary_plain")
    response = HttpResponse(f"X-Flag={request.headers.get('X-Flag')!r}")
    response["Vary"] = "X-Flag"
    return response


@cache_page(60)
def lang_page(request):
    from django.utils import translation

    ran("lang_page")
    return HttpResponse(f"lang={translation.get_language()}")


# --------------------------------------------------------------------------- async


@cache_page(60)
async def async_session_page(request):
    ran("async_session_page")
    cart = await request.session.aget("cart", "empty")
    return HttpResponse(f"cart={cart}")


@cache_page(60)
async def async_user_page(request):
    ran("async_user_page")
    user = await request.auser()
    return HttpResponse(f"user={user.get_username() or 'anon'}")


@cache_page(60)
async def async_form(request):
    ran("async_form")
    return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{get_token(request)}">')


@cache_page(60)
def whoami(request):
    ran("whoami")
    return HttpResponse(f"user={request.user.get_username() or 'anon'}")


@method_decorator(cache_page(60), name="dispatch")
class SessionTemplateView(TemplateView):
    template_name = f"{T}/session_value.html"


def post_ok(request):
    return HttpResponse("posted")


urlpatterns = [
    path("session/put/", put_in_session),
    path("messages/queue/", queue_message),
    path("post/", post_ok),
    path("session-key/", session_key_page),
    path("cookie/", cookie_page),
    path("session-key-view/", session_key_in_view),
    path("private-api-fragment/", private_api_with_fragment),
    path("session-store/", session_store_page),
    path("stashed-cart/", stashed_cart_page),
    path("message-count/", message_count_page),
    path("adds-message/", adds_message_page),
    path("cookie/headers-kwarg/", cookie_via_headers_kwarg),
    path("cookie/setdefault/", cookie_via_setdefault),
    path("cookie/deleted/", cookie_deleted),
    path("cookie/callback/", cookie_in_callback),
    path("proxy-auth/", proxy_auth_page),
    path("auth-public-fragment/", auth_public_with_fragment),
    path("frag/echo/", fragment_page("echo_fragment")),
    path("frag/auth-state/", fragment_page("auth_state_vary")),
    path("frag/session-vary/", fragment_page("session_vary")),
    path("frag/lazy-token/", fragment_page("lazy_token")),
    path("frag/perms/", fragment_page("perms_fragment")),
    path("frag/user-in-context/", fragment_user_in_context),
    path("frag/cached-user-in-context/", cached_fragment_user_in_context),
    path("frag/no-request/", fragment_without_request),
    path("frag/cached-page-auth/", cached_page_auth_fragment),
    path("fn/token-page/", page_with_token_fn),
    path("fn/notices/", notices_view),
    path("fn/greeting-by-state/", greeting_by_state_view),
    path("vary/switch/", vary_switch),
    path("vary/plain/", vary_plain),
    path("lang/", lang_page),
    path("async/session/", async_session_page),
    path("async/user/", async_user_page),
    path("async/form/", async_form),
    path("whoami/", whoami),
    path("cbv/session/", SessionTemplateView.as_view()),
]


class CookieTokenUserMiddleware:
    """Authenticates from a token cookie, lazily, as JWT-cookie middlewares commonly do."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import AnonymousUser
        from django.utils.functional import SimpleLazyObject

        def load():
            name = request.COOKIES.get("access_token")
            if not name:
                return AnonymousUser()
            return get_user_model().objects.filter(username=name).first() or AnonymousUser()

        if request.COOKIES.get("access_token"):
            request.user = SimpleLazyObject(load)
        return self.get_response(request)


urlpatterns.append(path("whoami-token/", whoami))
