"""CSRF tokens punched out of stored content and filled in per visitor on each hit.

A page with a form renders the visitor's masked CSRF token. Stored as it is, the
next visitor would get it (a leaked token, and a 403 on their POST). Instead
the content is stored with every token of this visitor's secret replaced by a
placeholder of the same length (so a ``Content-Length`` stays right), and each
hit replaces the placeholder with a token for *that* visitor (``token_for``, what
``get_token(request)`` makes). It flags the request as ``get_token`` does, so
``CsrfViewMiddleware`` sets the CSRF cookie exactly when Django would have, had the
view run. (The hit does not set the cookie itself: the middleware sets it after every
middleware and decorator inside it has handled the response, which may replace it.)

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


def secret_of(request: Any) -> str | None:
    """The visitor's CSRF secret, once the CSRF middleware or ``get_token`` set it."""
    return request.META.get("CSRF_COOKIE") if request is not None else None


def rotated(before: str | None, request: Any) -> bool:
    """Whether the visitor's CSRF secret changed since ``before`` (``rotate_token()``, as a
    login view calls it): what was computed then must not be stored, or a hit would keep
    the old secret. A first secret, made for a visitor who had none, is no rotation."""
    after = secret_of(request)
    return bool(before) and after is not None and after != before


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


def fill_in(content: Any, request: Any) -> Any:
    """``content`` with each placeholder replaced by a token for this visitor."""
    token = token_for(request) if request is not None else ""
    if isinstance(content, bytes):
        return content.replace(PLACEHOLDER_BYTES, token.encode())
    return content.replace(PLACEHOLDER, token)
