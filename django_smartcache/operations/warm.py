"""Warm the cache: request URLs (or a sitemap's) through Django's test client or over HTTP.

Used by ``manage.py smartcache warm``. The test client runs the project's own
views in this process, against the same cache, with the ``Host`` header of
each URL so the entries land under the keys real visitors use. Over HTTP
(``--http``), the URLs are fetched from a running server.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree import ElementTree

from django.apps import apps
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from ..conf import get_settings

_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
USER_AGENT = "django-smartcache-warm"


@dataclass
class Result:
    """What one request gave: its status, the cache header, or an error."""

    url: str
    status: int | None = None
    cache: str = ""
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error) or (self.status or 0) >= 400


def default_host() -> str:
    """The host that paths are requested with: the current Site, else ``ALLOWED_HOSTS``."""
    if apps.is_installed("django.contrib.sites"):
        from django.contrib.sites.models import Site

        try:
            return Site.objects.get_current().domain
        except Exception:  # no Site row yet, no SITE_ID: fall back
            pass
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and not host.startswith("."):
            return host
    return "localhost"


def absolute(url: str, base: str) -> str:
    """``url`` made absolute against ``base`` (``"https://example.com"``)."""
    if urlsplit(url).scheme:
        return url
    if not url.startswith("/"):
        raise ValueError(f"{url!r} is neither a full URL nor a path starting with '/'.")
    return base.rstrip("/") + url


class Fetcher:
    """Requests absolute URLs through Django's test client, or over HTTP."""

    def __init__(self, *, http: bool = False, timeout: float = 30.0) -> None:
        self.http = http
        self.timeout = timeout
        self.header = get_settings().HEADER
        self._client = None
        if not http:
            from django.test import Client

            self._client = Client(raise_request_exception=False)

    def get(self, url: str) -> tuple[Result, bytes]:
        """GET ``url``; never raises for an HTTP or network error (see ``Result.error``)."""
        try:
            if self._client is None:
                return self._over_http(url)
            return self._in_process(url)
        except Exception as exc:
            return Result(url, error=f"{type(exc).__name__}: {exc}"), b""

    def _in_process(self, url: str) -> tuple[Result, bytes]:
        parts = urlsplit(url)
        self._client.cookies.clear()  # every request is a fresh, anonymous visitor
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = self._client.get(
            path,
            headers={"host": parts.netloc, "user-agent": USER_AGENT},
            secure=parts.scheme == "https",
        )
        cache = response.get(self.header, "") if self.header else ""
        content = b"" if response.streaming else response.content
        return Result(url, response.status_code, cache), content

    def _over_http(self, url: str) -> tuple[Result, bytes]:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
                cache = response.headers.get(self.header, "") if self.header else ""
                return Result(url, response.status, cache), body
        except urllib.error.HTTPError as exc:
            cache = exc.headers.get(self.header, "") if self.header and exc.headers else ""
            return Result(url, exc.code, cache, error=f"HTTP {exc.code}"), b""


def sitemap_path() -> str:
    """The path of the project's sitemap (index first), from django.contrib.sitemaps' URLs."""
    from django.contrib.sitemaps import views

    for target in (
        "django.contrib.sitemaps.views.index",
        "django.contrib.sitemaps.views.sitemap",
        views.index,
        views.sitemap,
    ):
        try:
            return reverse(target)
        except NoReverseMatch:
            continue
    raise LookupError("no URL pattern serves django.contrib.sitemaps' index or sitemap view")


def sitemap_urls(
    location: str, fetch: Callable[[str], tuple[Result, bytes]], *, depth: int = 2
) -> list[str]:
    """Every ``<loc>`` of the sitemap at ``location``, following a sitemap index."""
    result, body = fetch(location)
    if result.failed:
        raise LookupError(f"the sitemap {location} answered {result.error or result.status}")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise LookupError(f"the sitemap {location} is not valid XML: {exc}") from exc
    locations = [(node.text or "").strip() for node in root.iter(f"{_SITEMAP_NS}loc")]
    if root.tag != f"{_SITEMAP_NS}sitemapindex":
        return [loc for loc in locations if loc]
    if depth <= 0:
        raise LookupError(f"the sitemap index {location} nests too deeply")
    found: list[str] = []
    for child in locations:
        found.extend(sitemap_urls(absolute(child, _origin(location)), fetch, depth=depth - 1))
    return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
