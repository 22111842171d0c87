"""Views of the third LocalHitMiddleware adversarial pass."""

from django.http import HttpResponse
from django.urls import include, path, reverse

from django_smartcache import cache_page


@cache_page(60)
def where(request):
    return HttpResponse(f"path={request.path} self={reverse('where3')}")


urlpatterns = [
    path("where/", where, name="where3"),
    path("", include("tests.urls")),
]


class BodyKeyMiddleware:
    """An API gate that takes its key from the request body, which a GET may carry over
    ASGI (HTTP/2 or chunked: no Content-Length): 403 without the key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import HttpResponseForbidden

        if request.path.startswith("/where/") and request.body != b"key=s3cret":
            return HttpResponseForbidden("no key")
        return self.get_response(request)
