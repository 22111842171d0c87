"""CSRF tokens punched out of stored content and filled in per visitor on each hit.

A page with a form renders the visitor's masked CSRF token. Stored as it is, the
next visitor would get it (a leaked token, and a 403 on their POST). Instead
the content is stored with every token of this visitor's secret replaced by a
placeholder of the same length (so a ``Content-Length`` stays right), and each
hit replaces the placeholder with ``get_token(request)`` for *that* visitor.
``get_token`` also flags the request, so ``CsrfViewMiddleware`` sets the CSRF
cookie exactly when Django would have, had the view run.

Tokens are recognised by what they are, not by where they appear: any 64-character
run of CSRF characters that unmasks to the visitor's secret. Content that shows
the secret itself, or a header that carries a token, is not stored at all.
"""

from __future__ import annotations

import re
from typing import Any

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

TOKEN_LENGTH = 2 * CSRF_SECRET_LENGTH  # a masked token: the mask, then the ciphered secret
PLACEHOLDER = "\0smartcache-csrf-token\0".ljust(TOKEN_LENGTH, "\0")
PLACEHOLDER_BYTES = PLACEHOLDER.encode()
_INDEX = {char: i for i, char in enumerate(CSRF_ALLOWED_CHARS)}
_RUN = rf"(?<![A-Za-z0-9])[A-Za-z0-9]{{{TOKEN_LENGTH}}}(?![A-Za-z0-9])"
_TEXT_RUN = re.compile(_RUN)
_BYTES_RUN = re.compile(_RUN.encode())


def secret_of(request: Any) -> str | None:
    """The visitor's CSRF secret, once the CSRF middleware or ``get_token`` set it."""
    return request.META.get("CSRF_COOKIE") if request is not None else None


def unmask(token: str) -> str:
    """The secret behind a masked token (Django's own masking, undone)."""
    mask, cipher = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    chars = CSRF_ALLOWED_CHARS
    return "".join(chars[_INDEX[c] - _INDEX[m]] for c, m in zip(cipher, mask, strict=True))


def punch(content: Any, secret: str) -> tuple[Any, int]:
    """``content`` (str or bytes) with the tokens of ``secret`` replaced; how many there were."""
    is_bytes = isinstance(content, bytes)
    pattern = _BYTES_RUN if is_bytes else _TEXT_RUN
    found = 0

    def replace(match: re.Match) -> Any:
        nonlocal found
        run = match.group()
        text = run.decode("ascii") if is_bytes else run
        if unmask(text) != secret:
            return run
        found += 1
        return PLACEHOLDER_BYTES if is_bytes else PLACEHOLDER

    return pattern.sub(replace, content), found


def exposes(content: Any, secret: str) -> bool:
    """Whether ``content`` still carries the visitor's secret or a token of it."""
    if isinstance(content, bytes):
        if secret.encode() in content:
            return True
        runs = (m.group().decode("ascii") for m in _BYTES_RUN.finditer(content))
    else:
        if secret in content:
            return True
        runs = (m.group() for m in _TEXT_RUN.finditer(content))
    return any(unmask(run) == secret for run in runs)


def fill_in(content: Any, request: Any) -> Any:
    """``content`` with each placeholder replaced by a token for this visitor."""
    token = get_token(request) if request is not None else ""
    if isinstance(content, bytes):
        return content.replace(PLACEHOLDER_BYTES, token.encode())
    return content.replace(PLACEHOLDER, token)
