"""Views for the probes that held (second pass)."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.vary import vary_on_headers

from django_smartcache import cache_page


@vary_on_headers("Accept-Encoding")
@cache_page(60, depends_on=["testapp.Product"])
def vary_outside(request):
    return HttpResponse("x" * 400)


@cache_page(60)
def whoami(request):
    user = request.user
    return HttpResponse(f"user={user.get_username() if user.is_authenticated else 'anon'}")


urlpatterns = [
    path("vary-outside/", vary_outside),
    path("who/", whoami),
    path("", include("tests.urls")),
]
