"""Small helpers of the ported Django tests."""

from __future__ import annotations

from django.test import RequestFactory

from tests.helpers import status

__all__ = ["EXACT_TIMEOUTS", "PATCH_VARY_CASES", "factory", "meta_name", "status"]

# Timeouts as given: no jitter, no early recomputation (for tests that sleep past a timeout).
EXACT_TIMEOUTS = {"JITTER": 0, "XFETCH_BETA": 0}

factory = RequestFactory()


# Django's CacheUtils.test_patch_vary_headers table.
PATCH_VARY_CASES = (
    # Initial vary, new headers, resulting vary.
    (None, ("Accept-Encoding",), "Accept-Encoding"),
    ("Accept-Encoding", ("accept-encoding",), "Accept-Encoding"),
    ("Accept-Encoding", ("ACCEPT-ENCODING",), "Accept-Encoding"),
    ("Cookie", ("Accept-Encoding",), "Cookie, Accept-Encoding"),
    ("Cookie, Accept-Encoding", ("Accept-Encoding",), "Cookie, Accept-Encoding"),
    ("Cookie, Accept-Encoding", ("Accept-Encoding", "cookie"), "Cookie, Accept-Encoding"),
    (None, ("Accept-Encoding", "COOKIE"), "Accept-Encoding, COOKIE"),
    ("Cookie,     Accept-Encoding", ("Accept-Encoding", "cookie"), "Cookie, Accept-Encoding"),
    ("Cookie    ,     Accept-Encoding", ("Accept-Encoding", "cookie"), "Cookie, Accept-Encoding"),
    ("*", ("Accept-Language", "Cookie"), "*"),
    ("Accept-Language, Cookie", ("*",), "*"),
)


def meta_name(header: str) -> str:
    """The ``request.META`` name of a request header: ``HTTP_ACCEPT_ENCODING`` and so on."""
    return "HTTP_" + header.strip().upper().replace("-", "_")
