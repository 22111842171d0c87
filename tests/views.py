"""Views the test suite caches; each counts how often it really ran."""

from __future__ import annotations

import threading
from collections import Counter

from django.http import HttpResponse, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import cache_page as django_cache_page

from django_smartcache import cache_page, depend_on, uncaptured
from tests.testapp.models import Product

CALLS: Counter[str] = Counter()
_calls_lock = threading.Lock()


class Pause:
    """Lets a test hold a view between reading the database and returning."""

    def __init__(self) -> None:
        self.enabled = False
        self.has_read = threading.Event()
        self.resume = threading.Event()

    def point(self) -> None:
        if self.enabled:
            self.has_read.set()
            self.resume.wait(10)


PAUSE = Pause()


def ran(name: str) -> None:
    with _calls_lock:
        CALLS[name] += 1


def _catalog_text() -> str:
    return ", ".join(f"{p.name}={p.price}" for p in Product.objects.order_by("pk"))


@cache_page(60, depends_on=[Product, "testapp.Category"])
def catalog(request):
    ran("catalog")
    text = _catalog_text()
    PAUSE.point()
    return HttpResponse(text)


@django_cache_page(60)
def django_catalog(request):
    ran("django_catalog")
    return HttpResponse(_catalog_text())


@cache_page(60, depends_on=["testapp.Category"])
def product_detail(request, slug):
    ran("detail")
    # Declared row precision: a lookup by slug would be captured model-wide (it is not a
    # read by pk); this page knows the row it shows, and says so.
    with uncaptured():
        product = get_object_or_404(Product, slug=slug)
    PAUSE.point()
    depend_on(product)
    return HttpResponse(f"{product.name}={product.price}")


@cache_page(60, depends_on=["homepage"])
def home(request):
    ran("home")
    return HttpResponse("home")


@cache_page(None)
def plain(request):
    ran("plain")
    return HttpResponse(f"plain {request.GET.urlencode()}")


@cache_page(60, query_params=["page", "sort"])
def listing(request):
    ran("listing")
    return HttpResponse(f"page={request.GET.get('page', 1)} sort={request.GET.get('sort', '')}")


@cache_page(60)
def with_status(request, status):
    ran("status")
    return HttpResponse("status", status=status)


@cache_page(60)
def csrf_form(request):
    ran("csrf")
    return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{get_token(request)}">')


@cache_page(60)
def sets_cookie(request):
    ran("cookie")
    response = HttpResponse("cookie")
    response.set_cookie("flavour", "oat")
    return response


@cache_page(60)
def cache_control(request, directive):
    ran("cache_control")
    response = HttpResponse("cc")
    patch_cache_control(response, **{directive.replace("-", "_"): True})
    return response


@cache_page(60)
def vary(request, header):
    ran("vary")
    response = HttpResponse(f"value={request.headers.get(header, '')}")
    response["Vary"] = header
    return response


@cache_page(60)
def streaming(request):
    ran("streaming")
    return StreamingHttpResponse(iter([b"a", b"b"]))


@cache_page(60)
def reads_session(request):
    ran("session")
    return HttpResponse(f"cart={request.session.get('cart', 0)}")


@cache_page(60)
def whoami(request):
    ran("whoami")
    user = request.user
    return HttpResponse(user.get_username() if user.is_authenticated else "anonymous")


@cache_page(60, depends_on=[Product], cache="locmem")
def locmem_catalog(request):
    ran("locmem")
    return HttpResponse(_catalog_text())


@cache_page(60)
def slow(request):
    ran("slow")
    PAUSE.point()
    import time

    time.sleep(0.3)
    return HttpResponse("slow")


@django_cache_page(60)
def django_slow(request):
    ran("django_slow")
    import time

    time.sleep(0.3)
    return HttpResponse("slow")


@cache_page(60)
async def async_view(request):
    ran("async")
    return HttpResponse("async")


# --------------------------------------------------------------------------- fragments


class Ticks:
    """``{{ tick.name }}`` in a template counts one render of ``name`` in ``CALLS``."""

    def __getitem__(self, name: str) -> str:
        ran(name)
        return ""


class Tick:
    """A context callable: ``{{ tick }}`` counts one render of ``name`` in ``CALLS``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self) -> str:
        ran(self.name)
        return ""


TICKS = Ticks()


def fragment_cards(request):
    """Not cached as a page: one cached fragment per product."""
    from django.shortcuts import render

    products = Product.objects.order_by("pk")
    cards = [(product, Tick(f"card:{product.slug}")) for product in products]
    return render(request, "smartcache_tests/cards.html", {"cards": cards})


@cache_page(60)  # declares nothing: it goes stale only through its fragments
def fragment_page(request, slug):
    from django.shortcuts import render

    ran("fragment_page")
    with uncaptured():  # stale only through its fragments (and what they capture)
        product = get_object_or_404(Product, slug=slug)
    return render(request, "smartcache_tests/page.html", {"product": product, "tick": TICKS})


FLAKY = {"mode": ""}  # "", "raise" or "500"


@cache_page(60)
def flaky(request):
    ran("flaky")
    if FLAKY["mode"] == "raise":
        raise RuntimeError("the database is down")
    if FLAKY["mode"] == "500":
        return HttpResponse("oops", status=500)
    return HttpResponse(f"flaky run {CALLS['flaky']}")


# --------------------------------------------------------------------------- CSRF


@cache_page(60)
def csrf_template(request):
    """A page with a form: cached with the token punched out, refilled per visitor."""
    from django.shortcuts import render

    ran("csrf_template")
    return render(request, "smartcache_tests/csrf_form.html")


def csrf_fragment(request):
    """Not cached as a page: the form is a cached fragment."""
    from django.shortcuts import render

    return render(request, "smartcache_tests/csrf_fragment.html", {"tick": TICKS})


@cache_page(60)
def csrf_fragment_page(request):
    """A cached page around the cached form fragment."""
    from django.shortcuts import render

    ran("csrf_fragment_page")
    return render(request, "smartcache_tests/csrf_fragment.html", {"tick": TICKS})


@cache_page(60)
def csrf_secret_shown(request):
    """Shows the visitor's unmasked CSRF secret: never to be stored."""
    ran("csrf_secret")
    get_token(request)
    return HttpResponse(f"secret={request.META['CSRF_COOKIE']}")


@cache_page(60)
def csrf_in_header(request):
    """Sends the token in a header, where it cannot be replaced: never to be stored."""
    ran("csrf_header")
    response = HttpResponse("see the header")
    response["X-CSRFToken"] = get_token(request)
    return response


def form_post(request):
    """A CSRF-protected form target (CsrfViewMiddleware checks the POST)."""
    return HttpResponse(f"posted {request.method}")
