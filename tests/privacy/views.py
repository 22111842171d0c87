"""Views that show one visitor's private data, each through one channel and one kind of entry.

Private values are written as ``[session:...]``, ``[user:...]``, ``[message:...]``,
``[visitor:...]`` and ``[owner:...]`` so a test can look for them in any response.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.models import User
from django.core import signing
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers

from django_smartcache import cache_page, cached
from tests.views import Tick

# Template parts (tests/templates/privacy/parts/) that show something of the visitor.
PARTS = frozenset({"session", "user", "request_user", "messages", "csrf_token"})

FORM = (
    '<form method="post" action="/privacy/submit/">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{token}"><button>Buy</button></form>'
)

_tokens = signing.Signer(salt="tests.privacy.api-token")


def api_token(username: str) -> str:
    """An API token for ``username``, as an ``Authorization: Token <key>`` header carries it."""
    return _tokens.sign(username)


def _visitor_cookie(request) -> str:
    return f"[visitor:{request.COOKIES.get('visitor', '')}]"


# --------------------------------------------------------------------------- response channels


@cache_page(60)
def set_cookie(request):
    """Gives every response a fresh visitor id through ``set_cookie``."""
    response = HttpResponse("<p>Welcome</p>")
    response.set_cookie("visitor_id", f"id-{uuid.uuid4().hex}")
    return response


@cache_page(60)
def raw_set_cookie(request):
    """The same, through a hand-written ``Set-Cookie`` header (not ``response.cookies``)."""
    response = HttpResponse("<p>Welcome</p>")
    response["Set-Cookie"] = f"visitor_id=id-{uuid.uuid4().hex}; Path=/; HttpOnly"
    return response


@cache_page(60)
def vary_cookie(request):
    """Shows the visitor's own cookie and says so with ``Vary: Cookie``."""
    response = HttpResponse(_visitor_cookie(request))
    patch_vary_headers(response, ["Cookie"])
    return response


@cache_page(60)
def cache_control(request, directive):
    """Shows the visitor's own cookie, marked ``Cache-Control: private`` or ``no-store``."""
    if directive not in ("private", "no-store"):
        raise Http404(directive)
    response = HttpResponse(_visitor_cookie(request))
    patch_cache_control(response, **{directive.replace("-", "_"): True})
    return response


@cache_page(60)
def token_api(request):
    """Authenticates from ``Authorization: Token <key>`` as REST framework does; no session."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    try:
        username = _tokens.unsign(key) if scheme == "Token" else None
    except signing.BadSignature:
        username = None
    owner = User.objects.filter(username=username, is_active=True).first() if username else None
    if owner is None:
        return HttpResponse("[owner:none]", status=401)
    return HttpResponse(f"[owner:{owner.username}]")


# ------------------------------------------------------------------ pages reading the visitor


@cache_page(60)
def session_page(request):
    return HttpResponse(f"[session:{request.session.get('secret', '')}]")


@cache_page(60)
def user_page(request):
    return HttpResponse(f"[user:{request.user.username}]")


@cache_page(60)
def csrf_page(request):
    return HttpResponse(FORM.format(token=get_token(request)))


# --------------------------------------------------------------------------- templates


def _part(part: str) -> dict:
    if part not in PARTS:
        raise Http404(part)
    return {"part": f"privacy/parts/{part}.html", "tick": Tick(f"fragment:{part}")}


@cache_page(60)
def template_page(request, part):
    """A cached page whose template shows the part."""
    return render(request, "privacy/page.html", _part(part))


def fragment(request, part):
    """An uncached page showing the part inside a ``{% smartcache %}`` fragment."""
    return render(request, "privacy/fragment.html", _part(part))


@cache_page(60)
def fragment_in_page(request, part):
    """A cached page showing the part inside a ``{% smartcache %}`` fragment."""
    return render(request, "privacy/fragment.html", _part(part))


def per_user_fragment(request):
    """A fragment that varies on the user's pk, so it may show the user."""
    return render(request, "privacy/fragment_per_user.html", {"tick": Tick("fragment:per-user")})


# --------------------------------------------------------------------------- functions


@cached(timeout=60, key=lambda request: "fixed")
def session_secret(request):
    return request.session.get("secret", "")


@cached(timeout=60, key=lambda request: "fixed")
def username_of(request):
    return request.user.username


@cached(timeout=60, key=lambda request: "fixed")
def pending_messages(request):
    return [str(message) for message in messages.get_messages(request)]


@cached(timeout=60, key=lambda request: "fixed")
def csrf_token_of(request):
    return get_token(request)


def session_function(request):
    return HttpResponse(f"[session:{session_secret(request)}]")


def user_function(request):
    return HttpResponse(f"[user:{username_of(request)}]")


def messages_function(request):
    return HttpResponse("".join(f"[message:{text}]" for text in pending_messages(request)))


def csrf_function(request):
    return HttpResponse(FORM.format(token=csrf_token_of(request)))


# --------------------------------------------------------------------------- support


def queue_message(request):
    """Queues ``?text=`` for the visitor, shown by the next page that displays messages."""
    messages.info(request, request.GET["text"])
    return HttpResponse("queued")


def submit(request):
    """Where the forms post; ``CsrfViewMiddleware`` answers 403 to a bad token."""
    return HttpResponse("ok")
