"""Purges by URL and by model label, shared by the public API, the admin and the command."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.db import models

from ..core.tags import model_from_label, url_tag  # model_from_label: imported from here by callers
from .bumps import bump, invalidate


def url_path(path_or_url: str) -> str:
    """The path part of ``path_or_url``, as ``request.path`` has it (percent-decoded).

    ``"/shop/?page=2"``, ``"https://example.com/shop/"`` and ``"/shop/#top"`` all
    give ``"/shop/"``. Raises ``ValueError`` for anything that is not an absolute
    path or an http(s) URL, ``TypeError`` for a non-string.
    """
    if not isinstance(path_or_url, str):
        raise TypeError(f"A URL must be a string, not {type(path_or_url).__name__}.")
    parts = urlsplit(path_or_url.strip())
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("", "http", "https"):
            raise ValueError(f"{path_or_url!r} is not an http(s) URL or a path starting with '/'.")
        path = parts.path or "/"
    else:
        path = parts.path
    if not path.startswith("/"):
        raise ValueError(f"{path_or_url!r} is not an http(s) URL or a path starting with '/'.")
    return unquote(path)


def invalidate_url(path_or_url: str) -> str:
    """Make every cached page of one URL path stale, now; return that path.

    All variants go at once: any host, scheme, query string, ``Vary`` value,
    language or visitor, and HEAD (answered from the GET entry). One version
    bump, whatever the number of variants. ``path_or_url`` is a path
    (``"/shop/"``) or a full URL; its query string is ignored.
    """
    path = url_path(path_or_url)
    bump([url_tag(path)])
    return path


def invalidate_model(label: str) -> type[models.Model]:
    """``invalidate(Model)`` for the model named ``label``; return the model."""
    model = model_from_label(label)
    invalidate(model)
    return model
