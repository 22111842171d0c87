"""The cache badge: report how *this* response was served, outside the cached HTML.

A cached page's HTML is the same on every hit, so it cannot say "HIT, 12 s old". This
middleware copies the ``X-Smartcache`` and ``Age`` response headers into a ``Server-Timing``
entry, ``smartcache;desc="HIT age=12";dur=0.8``, which the page's JavaScript reads from
``performance.getEntriesByType("navigation")[0].serverTiming``. It runs outside the view, so
nothing it adds is ever stored in the cache. ``dur`` is the time spent in Django (ms).
"""

from __future__ import annotations

import time

from django.conf import settings

ENTRY = "smartcache"


def _header_name() -> str | None:
    return getattr(settings, "SMARTCACHE", {}).get("HEADER", "X-Smartcache")


class CacheBadgeMiddleware:
    """Add ``Server-Timing: smartcache;desc="<status> [age=N]";dur=<ms>`` to labelled responses."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        header = _header_name()
        status = response.get(header) if header else None
        if status:
            desc = status
            if response.has_header("Age"):
                desc += f" age={int(response['Age'])}"
            user = getattr(request, "user", None)
            if status == "BYPASS" and user is not None and user.is_authenticated:
                desc += " logged-in"
            took = (time.perf_counter() - started) * 1000
            entry = f'{ENTRY};desc="{desc}";dur={took:.1f}'
            previous = response.get("Server-Timing")
            response["Server-Timing"] = f"{previous}, {entry}" if previous else entry
        return response
