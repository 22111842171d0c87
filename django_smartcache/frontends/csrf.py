"""CSRF tokens punched out of stored content and filled in per visitor on each hit.

A page with a form renders the visitor's masked CSRF token. Stored as it is, the
next visitor would get it (a leaked token, and a 403 on their POST). Instead
the content is stored with every token of this visitor's secret replaced by a
placeholder of the same length (so a ``Content-Length`` stays right), and each
hit replaces the placeholder with a token for *that* visitor (``token_for``, what
``get_token(request)`` makes), and sets the CSRF cookie exactly when and as
``CsrfViewMiddleware`` would have, had the view run (``renew_cookie``).

Tokens are recognised by what they are, not by where they appear: any 64
consecutive CSRF characters that unmask to one of the visitor's secrets, even
inside a longer run (``v1<token>``). Content that already held the placeholder
before punching (echoed from a request, say) is never stored: only placeholders
this module wrote are ever filled. Content that shows a secret itself, or a
header that carries a token, is not stored at all.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date

from ..conf import from_django_settings

TOKEN_LENGTH = 2 * CSRF_SECRET_LENGTH  # a masked token: the mask, then the ciphered secret
PLACEHOLDER = "\0smartcache-csrf-token\0".ljust(TOKEN_LENGTH, "\0")
PLACEHOLDER_BYTES = PLACEHOLDER.encode()
_INDEX = {char: i for i, char in enumerate(CSRF_ALLOWED_CHARS)}
_COUNT = len(CSRF_ALLOWED_CHARS)
_RUN = re.compile(rf"[A-Za-z0-9]{{{TOKEN_LENGTH},}}")
_UNBIASED = 256 - 256 % _COUNT  # bytes at or above this would favour the first characters


def secret_of(request: Any) -> str | None:
    """The visitor's CSRF secret, once the CSRF middleware or ``get_token`` set it."""
    return request.META.get("CSRF_COOKIE") if request is not None else None


def unmask(token: str) -> str:
    """The secret behind a masked token (Django's own masking, undone)."""
    mask, cipher = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    chars = CSRF_ALLOWED_CHARS
    return "".join(chars[_INDEX[c] - _INDEX[m]] for c, m in zip(cipher, mask, strict=True))


def _is_token_at(text: str, at: int, secret: str) -> bool:
    """Whether ``text[at:at + 64]`` is a masked token of ``secret`` (first pair checked first)."""
    index = _INDEX
    half = CSRF_SECRET_LENGTH
    if (index[text[at + half]] - index[text[at]]) % _COUNT != index[secret[0]]:
        return False
    return unmask(text[at : at + TOKEN_LENGTH]) == secret


def token_spans(text: str, secrets: Iterable[str]) -> list[tuple[int, int]]:
    """Where ``text`` holds a masked token of one of ``secrets``, left to right."""
    secrets = [s for s in secrets if s and len(s) == CSRF_SECRET_LENGTH]
    spans: list[tuple[int, int]] = []
    if not secrets:
        return spans
    for run in _RUN.finditer(text):
        at, end = run.start(), run.end()
        while at + TOKEN_LENGTH <= end:
            if any(_is_token_at(text, at, secret) for secret in secrets):
                spans.append((at, at + TOKEN_LENGTH))
                at += TOKEN_LENGTH
            else:
                at += 1
    return spans


def _as_text(content: Any) -> str:
    # latin-1 maps every byte to one character: positions in bytes and text agree.
    return content.decode("latin-1") if isinstance(content, bytes) else content


def punch(content: Any, secrets: Iterable[str]) -> tuple[Any, int]:
    """``content`` (str or bytes) with the tokens of ``secrets`` replaced; how many there were."""
    text = _as_text(content)
    spans = token_spans(text, secrets)
    if not spans:
        return content, 0
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], PLACEHOLDER]
        last = end
    parts.append(text[last:])
    punched = "".join(parts)
    return (punched.encode("latin-1") if isinstance(content, bytes) else punched), len(spans)


def holds_placeholder(content: Any) -> bool:
    """Whether ``content`` holds the placeholder already (it must not be stored then)."""
    if isinstance(content, bytes):
        return PLACEHOLDER_BYTES in content
    return PLACEHOLDER in content


def exposes(content: Any, secrets: Iterable[str]) -> bool:
    """Whether ``content`` carries one of ``secrets`` itself or a token of one."""
    text = _as_text(content)
    secrets = [s for s in secrets if s]
    return any(s in text for s in secrets) or bool(token_spans(text, secrets))


def looks_like_a_token(content: Any) -> bool:
    """Whether ``content`` holds 64 CSRF characters in a row (when no secret is known)."""
    return _RUN.search(_as_text(content)) is not None


# Byte tables for making tokens in C rather than a loop per character: a byte drawn from
# the CSPRNG becomes a character (bytes at or above ``_UNBIASED`` are deleted, so every
# character is equally likely), a character becomes its index in the alphabet, and a sum
# of two indexes (at most 122) becomes the character at that sum modulo the alphabet's size.
_DRAWN_TO_CHAR = bytes(ord(CSRF_ALLOWED_CHARS[b % _COUNT]) for b in range(256))
_REJECTED = bytes(range(_UNBIASED, 256))
_CHAR_TO_INDEX = bytes(_INDEX.get(chr(b), 0) for b in range(256))
_SUM_TO_CHAR = bytes(ord(CSRF_ALLOWED_CHARS[b % _COUNT]) for b in range(256))


def _random_string(length: int = CSRF_SECRET_LENGTH) -> str:
    """``length`` CSRF characters from the OS's CSPRNG, uniformly (rejection sampling)."""
    drawn = b""
    while len(drawn) < length:
        drawn += os.urandom(length + 8).translate(_DRAWN_TO_CHAR, _REJECTED)
    return drawn[:length].decode("ascii")


def _mask(secret: str, mask: str) -> str:
    """The cipher of ``secret`` under ``mask``: Django's ``_mask_cipher_secret``, in C.

    Both as alphabet indexes (0 to 61), one byte each, added as big integers: no byte sum
    reaches 256, so no carry crosses bytes and each byte of the sum is ``s + m``.
    """
    length = len(secret)
    total = int.from_bytes(
        secret.encode("ascii").translate(_CHAR_TO_INDEX), "big"
    ) + int.from_bytes(mask.encode("ascii").translate(_CHAR_TO_INDEX), "big")
    return total.to_bytes(length, "big").translate(_SUM_TO_CHAR).decode("ascii")


def _well_formed(secret: Any) -> bool:
    """Whether ``secret`` is a CSRF secret: 32 of the CSRF characters (ASCII letters, digits)."""
    return (
        isinstance(secret, str)
        and len(secret) == CSRF_SECRET_LENGTH
        and secret.isascii()
        and secret.isalnum()
    )


def token_for(request: Any) -> str:
    """What Django's ``get_token(request)`` returns and does, some thirty times cheaper.

    A hit on a page with a form makes a token per visitor, and for a first-time visitor
    a secret too. Django draws each of those 64 characters with its own
    ``secrets.choice`` call (about 70 µs a token here, the largest cost of such a hit);
    this draws them from one ``os.urandom`` call each (the same alphabet, uniform, the
    same CSPRNG), masks the secret as Django does (``_mask``), and flags the request as
    ``get_token`` does, so ``CsrfViewMiddleware`` sets or renews the cookie as it would
    have. Anything but a well-formed secret is left to ``get_token`` itself.
    """
    meta = request.META
    secret = meta.get("CSRF_COOKIE")
    if secret is None and "CSRF_COOKIE" not in meta:
        secret = meta["CSRF_COOKIE"] = _random_string()
    if not _well_formed(secret):
        return get_token(request)
    meta["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = _random_string()
    return mask + _mask(secret, mask)


_DJANGO_CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
_templates: dict[int, Any] = {}  # whole second -> the CSRF cookie as set then, any value


@from_django_settings
def _cookie_arguments() -> dict[str, Any] | None:
    """``CsrfViewMiddleware``'s ``set_cookie`` arguments, when a hit may set the cookie
    itself: Django's own middleware (not a subclass) with the cookie (not the session)
    and a whole number of seconds (or no) ``CSRF_COOKIE_AGE``; else ``None``."""
    _templates.clear()
    age = settings.CSRF_COOKIE_AGE
    if (
        settings.CSRF_USE_SESSIONS
        or _DJANGO_CSRF_MIDDLEWARE not in settings.MIDDLEWARE
        or not (age is None or type(age) is int)
    ):
        return None
    return {
        "key": settings.CSRF_COOKIE_NAME,
        "max_age": age,
        "domain": settings.CSRF_COOKIE_DOMAIN,
        "path": settings.CSRF_COOKIE_PATH,
        "secure": settings.CSRF_COOKIE_SECURE,
        "httponly": settings.CSRF_COOKIE_HTTPONLY,
        "samesite": settings.CSRF_COOKIE_SAMESITE,
    }


@functools.lru_cache(maxsize=256)
def _vary_with_cookie(vary: str | None) -> str:
    """The ``Vary`` header ``patch_vary_headers(response, ("Cookie",))`` leaves (memoized)."""
    scratch = HttpResponse()
    if vary is not None:
        scratch["Vary"] = vary
    patch_vary_headers(scratch, ("Cookie",))
    return scratch["Vary"]


def renew_cookie(request: Any, response: HttpResponse) -> None:
    """Set the CSRF cookie on a hit's response as ``CsrfViewMiddleware`` would, cheaper.

    A hit that filled in a token flags the request, and the middleware then sets (or
    renews) the cookie with ``set_cookie``: about 10 µs of cookie attributes and dates,
    the largest cost of a hit on a page with a form after the token. This sets the very
    same cookie (its attributes made by ``set_cookie`` itself once a second, with the
    expiry Django would compute in that second) and ``Vary: Cookie``, and clears the
    flag as the middleware does once it has set the cookie. Left to Django: the secret
    kept in the session, a CSRF middleware of the project's own, a fractional age.
    """
    arguments = _cookie_arguments()
    meta = request.META
    if arguments is None or meta.get("CSRF_COOKIE_NEEDS_UPDATE") is not True:
        return
    secret = meta.get("CSRF_COOKIE")
    if not _well_formed(secret):
        return
    now = int(time.time())
    template = _templates.get(now)
    if template is None:
        maker = HttpResponse()
        # time.time() inside set_cookie is in this second or later: pin it to this one.
        maker.set_cookie(value="", **arguments)
        template = maker.cookies[arguments["key"]]
        if arguments["max_age"] is not None:
            template["expires"] = http_date(now + arguments["max_age"])
        _templates.clear()
        _templates[now] = template
    morsel = template.copy()
    morsel.set(arguments["key"], secret, secret)  # CSRF characters need no quoting
    response.cookies[arguments["key"]] = morsel
    response["Vary"] = _vary_with_cookie(response.get("Vary"))
    meta["CSRF_COOKIE_NEEDS_UPDATE"] = False


def fill_in(content: Any, request: Any) -> Any:
    """``content`` with each placeholder replaced by a token for this visitor."""
    token = token_for(request) if request is not None else ""
    if isinstance(content, bytes):
        return content.replace(PLACEHOLDER_BYTES, token.encode())
    return content.replace(PLACEHOLDER, token)
