"""When two requests are the same request, for ``LocalHitMiddleware`` (``replay``).

``identity()`` is what must be equal (and tells requests that identify somebody: never
answered from memory); ``seen()`` is what the stack below answered with, besides the
request (settings compared by value, the URL resolver); ``size()`` what an answer's key
and headers take in memory.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_resolver

# Request headers that only concern the connection or the fetch, not what is answered
# (unless the answer's Vary names one of them).
TRANSPORT = frozenset(
    {"HTTP_ACCEPT_ENCODING", "HTTP_CONNECTION", "HTTP_KEEP_ALIVE", "HTTP_PRIORITY", "HTTP_TE"}
)
# Any of these present: somebody may be identified by it; never answered from memory.
_IDENTIFYING = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION")
_IDENTIFYING_ENVIRON = ("REMOTE_USER", "AUTH_TYPE")
# What a WSGI or ASGI server puts in the environ besides headers; any other key (a
# server variable an authentication module sets, OIDC_CLAIM_email) may identify somebody.
_KNOWN_ENVIRON = frozenset(
    {
        "REQUEST_METHOD",
        "PATH_INFO",
        "SCRIPT_NAME",
        "QUERY_STRING",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
        "GATEWAY_INTERFACE",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_PORT",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "HTTPS",
        "RAW_URI",
        "REQUEST_URI",
        "REQUEST_SCHEME",
        "gunicorn.socket",
        # What Apache (mod_wsgi) and uWSGI add of their own configuration.
        "DOCUMENT_ROOT",
        "CONTEXT_DOCUMENT_ROOT",
        "CONTEXT_PREFIX",
        "PATH",
        "SCRIPT_FILENAME",
        "SCRIPT_URI",
        "SCRIPT_URL",
        "SERVER_ADDR",
        "SERVER_ADMIN",
        "SERVER_SIGNATURE",
        "UNIQUE_ID",
    }
)
_KNOWN_PREFIXES = ("wsgi.", "uwsgi.", "mod_wsgi.", "apache.")
_ENVIRON = (
    "PATH_INFO",
    "SCRIPT_NAME",
    "QUERY_STRING",
    "SERVER_NAME",
    "SERVER_PORT",
    "REMOTE_ADDR",
    "HTTPS",
    "CONTENT_TYPE",
    "wsgi.url_scheme",
)


def identity(request: HttpRequest) -> tuple | None:
    """What makes this request the same as another; ``None``: never answered from memory."""
    meta = request.META
    if request.method != "GET" or meta.get("CONTENT_LENGTH") not in (None, "", "0"):
        return None
    if meta.get("HTTP_TRANSFER_ENCODING") or _has_body(request):
        return None  # a body is not part of the identity (a key sent in it, say)
    for name in _IDENTIFYING:  # an empty header carries nothing (Django's test client)
        if meta.get(name):
            return None
    for name in _IDENTIFYING_ENVIRON:
        if meta.get(name):
            return None
    headers = []
    for name, value in meta.items():
        if name.startswith("HTTP_"):
            if name not in TRANSPORT:
                headers.append((name, value))
        elif name not in _KNOWN_ENVIRON and not name.startswith(_KNOWN_PREFIXES):
            return None  # SSL_CLIENT_*, a server variable: may identify somebody
    headers.sort()
    scope = getattr(request, "scope", None)  # ASGI
    if scope is not None:
        if (scope.get("extensions") or {}).get("tls") is not None:
            return None  # a TLS client certificate may be in it
        headers.append(("scope", scope.get("type"), scope.get("scheme")))
    return (*(meta.get(name) for name in _ENVIRON), *headers)


def _has_body(request: HttpRequest) -> bool:
    """An ASGI request may carry a body without ``Content-Length`` (HTTP/2, chunked), and
    Django still reads it; under WSGI it reads none then. Read here (Django keeps it for
    the view); unreadable counts as a body."""
    if getattr(request, "scope", None) is None:
        return False
    try:
        return bool(request.body)
    except Exception:
        return True


def size(value: Any) -> int:
    """What ``value`` (an answer's key or headers: tuples of strings) takes in memory, with
    the objects that hold the characters (a short header costs ~150 bytes, not its length)."""
    if isinstance(value, tuple):
        return sys.getsizeof(value) + sum(size(item) for item in value)
    if isinstance(value, (str, bytes)):
        return sys.getsizeof(value)
    return 16  # None, numbers: shared or small


# Settings Django's own middleware and URL handling read for a request: changed in place
# (Django says settings must not change at runtime, but tests and admin panels do), an
# answer made before is not given. ``setting_changed`` forgets every answer anyway.
_SETTINGS = (
    "DEBUG",
    "USE_X_FORWARDED_HOST",
    "USE_X_FORWARDED_PORT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "PREPEND_WWW",
    "APPEND_SLASH",
    "USE_I18N",
    "LANGUAGE_CODE",
    "ROOT_URLCONF",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SECURE_HSTS_SECONDS",
)
_LIST_SETTINGS = ("ALLOWED_HOSTS", "DISALLOWED_USER_AGENTS", "LANGUAGES", "MIDDLEWARE")


def seen(urlconf: Any) -> tuple | None:
    """What the stack below answered with: those settings by value and the URL resolver
    (``clear_url_caches()`` replaces it); ``None`` for an ``ALLOWED_HOSTS`` that is not a
    plain list or tuple (a dynamic one: the host check must run every time)."""
    # LazySettings keeps each setting it handed out in its __dict__ (dropped when one is
    # set or overridden): read there, past LazyObject's costly __getattribute__.
    cached = settings.__dict__
    values = [cached.get(name, _UNREAD) for name in _ALL_SETTINGS]
    for i, value in enumerate(values):
        if value is _UNREAD:
            values[i] = getattr(settings, _ALL_SETTINGS[i], None)
    if type(values[_HOSTS]) not in (list, tuple):
        return None
    for i in _LISTS:
        values[i] = tuple(values[i] or ())
    values.append(get_resolver(urlconf))
    return tuple(values)


_UNREAD = object()
_ALL_SETTINGS = (*_SETTINGS, *_LIST_SETTINGS)
_LISTS = range(len(_SETTINGS), len(_ALL_SETTINGS))
_HOSTS = _ALL_SETTINGS.index("ALLOWED_HOSTS")
