"""CSRF tokens punched out of stored content and filled in per visitor on each hit.

A page with a form renders the visitor's masked CSRF token. Stored as it is, the
next visitor would get it (a leaked token, and a 403 on their POST). Instead
the content is stored with every token of this visitor's secret replaced by a
placeholder of the same length (so a ``Content-Length`` stays right), and each
hit replaces the placeholder with ``get_token(request)`` for *that* visitor.
``get_token`` also flags the request, so ``CsrfViewMiddleware`` sets the CSRF
cookie exactly when Django would have, had the view run.

Tokens are recognised by what they are, not by where they appear: any 64
consecutive CSRF characters that unmask to one of the visitor's secrets, even
inside a longer run (``v1<token>``). Content that already held the placeholder
before punching (echoed from a request, say) is never stored: only placeholders
this module wrote are ever filled. Content that shows a secret itself, or a
header that carries a token, is not stored at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

TOKEN_LENGTH = 2 * CSRF_SECRET_LENGTH  # a masked token: the mask, then the ciphered secret
PLACEHOLDER = "\0smartcache-csrf-token\0".ljust(TOKEN_LENGTH, "\0")
PLACEHOLDER_BYTES = PLACEHOLDER.encode()
_INDEX = {char: i for i, char in enumerate(CSRF_ALLOWED_CHARS)}
_COUNT = len(CSRF_ALLOWED_CHARS)
_RUN = re.compile(rf"[A-Za-z0-9]{{{TOKEN_LENGTH},}}")
_UNBIASED = 256 - 256 % _COUNT  # bytes at or above this would favour the first characters
_ALLOWED = frozenset(CSRF_ALLOWED_CHARS)


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


def _random_string(length: int = CSRF_SECRET_LENGTH) -> str:
    """``length`` CSRF characters from the OS's CSPRNG, uniformly (rejection sampling)."""
    chars, drawn = CSRF_ALLOWED_CHARS, []
    while len(drawn) < length:
        drawn += [chars[b % _COUNT] for b in os.urandom(length + 8) if b < _UNBIASED]
    return "".join(drawn[:length])


def token_for(request: Any) -> str:
    """What Django's ``get_token(request)`` returns and does, about ten times cheaper.

    A hit on a page with a form makes a token per visitor, and for a first-time visitor
    a secret too. Django draws each of those 64 characters with its own
    ``secrets.choice`` call (about 70 µs a token here, the largest cost of such a hit);
    this draws them from one ``os.urandom`` call each (the same alphabet, uniform, the
    same CSPRNG), masks the secret as Django does, and flags the request exactly as
    ``get_token`` does, so ``CsrfViewMiddleware`` sets or renews the cookie as it would
    have. Anything but a well-formed secret is left to ``get_token`` itself.
    """
    meta = request.META
    secret = meta.get("CSRF_COOKIE")
    if secret is None and "CSRF_COOKIE" not in meta:
        secret = meta["CSRF_COOKIE"] = _random_string()
    if not isinstance(secret, str) or len(secret) != CSRF_SECRET_LENGTH or set(secret) - _ALLOWED:
        return get_token(request)
    meta["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask, chars, index = _random_string(), CSRF_ALLOWED_CHARS, _INDEX
    pairs = zip(secret, mask, strict=True)
    cipher = "".join(chars[(index[s] + index[m]) % _COUNT] for s, m in pairs)
    return mask + cipher


def fill_in(content: Any, request: Any) -> Any:
    """``content`` with each placeholder replaced by a token for this visitor."""
    token = token_for(request) if request is not None else ""
    if isinstance(content, bytes):
        return content.replace(PLACEHOLDER_BYTES, token.encode())
    return content.replace(PLACEHOLDER, token)
