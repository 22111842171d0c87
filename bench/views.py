"""Bench-only variants of the demo shop's product page (``/products/<slug>/``).

All of them render (or return) the same HTML through the same middleware stack:

- ``uncached``: the shop's own view without its page cache (``__wrapped__``). The view itself is
  unchanged: it still reads the product and its category through the demo's object cache
  (``get_cached``) and caches its "related products" fragment, as the shop is written.
- ``django_cached``: that same view under Django's own ``cache_page`` (django-redis, alias
  ``django``).
- ``smartcache``: the shop's own view, as decorated in the shop (the same object that serves
  ``/products/<slug>/``), under a URL that resolves like the others'.
- ``one_get``: a reference, not a cache: the page's bytes read with one raw Redis ``GET`` and
  returned. No key derivation, no validation, no headers restored: the least any cache that asks
  Redis on every request can cost. It shows how much of the gap to the ceiling is the round
  trip itself.
- ``constant``: the ceiling of the stack: the page's bytes, captured by the runner from the
  uncached view and read once per process from ``BENCH_CONSTANT_BODY``, returned with no cache.
- ``csrf_floor``: those bytes with this visitor's own CSRF token in them, made as a hit makes it
  (so Django's CSRF middleware sets the visitor's cookie, as for the real page): the least any
  cache that serves this page (it has a form) correctly must do. ``constant`` is not
  a correct answer for it: it would hand every visitor the same token.

And two views for the stampede test, each counting its runs with a Redis ``INCR`` (in the
smartcache database, key ``bench:runs:<variant>:<trial>``) and taking ``BENCH_STAMPEDE_DELAY``
seconds (default 0.1), like a slow query, before returning the page's bytes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.http import HttpResponse
from django.views.decorators.cache import cache_page as django_cache_page
from django_redis import get_redis_connection

from django_smartcache import cache_page as smart_cache_page
from example_project.shop import views as shop

PAGE_TIMEOUT = shop.PAGE_TIMEOUT
CONTENT_TYPE = "text/html; charset=utf-8"

# The product page without smartcache's page cache (functools.wraps keeps the original).
product_smartcache = shop.product_detail
product_uncached = shop.product_detail.__wrapped__
product_django = django_cache_page(PAGE_TIMEOUT, cache="django")(product_uncached)

_body: bytes | None = None


def page_bytes() -> bytes:
    """The captured product page (read once per process)."""
    global _body
    if _body is None:
        _body = Path(os.environ["BENCH_CONSTANT_BODY"]).read_bytes()
    return _body


def ping(request):
    """Readiness probe of the bench servers (touches no cache and no database)."""
    return HttpResponse(b"ok", content_type="text/plain")


def constant(request, slug):
    return HttpResponse(page_bytes(), content_type=CONTENT_TYPE)


def csrf_floor(request, slug):
    from django_smartcache.frontends.csrf import token_for

    token = token_for(request).encode()
    return HttpResponse(
        page_bytes().replace(b"</body>", token + b"</body>", 1), content_type=CONTENT_TYPE
    )


ONE_GET_KEY = "bench:one-get:page"


def one_get(request, slug):
    redis = get_redis_connection("default")
    body = redis.get(ONE_GET_KEY)
    if body is None:
        body = page_bytes()
        redis.set(ONE_GET_KEY, body)
    return HttpResponse(body, content_type=CONTENT_TYPE)


def _slow_page(variant: str, request) -> HttpResponse:
    trial = request.GET.get("trial", "0")
    get_redis_connection("default").incr(f"bench:runs:{variant}:{trial}")
    time.sleep(float(os.environ.get("BENCH_STAMPEDE_DELAY", "0.1")))
    return HttpResponse(page_bytes(), content_type=CONTENT_TYPE)


@smart_cache_page(PAGE_TIMEOUT)
def stampede_smartcache(request):
    return _slow_page("smartcache", request)


@django_cache_page(PAGE_TIMEOUT, cache="django")
def stampede_django(request):
    return _slow_page("django", request)


# The CSRF refill: the product page's bytes with and without a form, both under smartcache.
_FORM = '<form method="post" action="/cart/">{% csrf_token %}<button>Add to cart</button></form>'


def _form_page(request, with_form: bool) -> HttpResponse:
    from django.template import engines

    body = page_bytes().decode()
    form = engines["django"].from_string(_FORM).render(request=request) if with_form else ""
    return HttpResponse(body.replace("</body>", form + "</body>", 1), content_type=CONTENT_TYPE)


@smart_cache_page(PAGE_TIMEOUT)
def page_without_form(request, slug):
    return _form_page(request, with_form=False)


@smart_cache_page(PAGE_TIMEOUT)
def page_with_form(request, slug):
    return _form_page(request, with_form=True)
