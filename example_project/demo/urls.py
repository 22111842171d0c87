import re

from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve
from django.urls import include, path, re_path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("example_project.shop.urls")),
]

if not settings.DEBUG:
    # Production-like mode (DJANGO_DEBUG=0, e.g. under gunicorn) still serves the admin's CSS
    # and JavaScript from the installed apps. Fine for a local demo; a real deployment lets
    # the web server (or WhiteNoise) serve collected static files instead.
    urlpatterns.append(
        re_path(
            rf"^{re.escape(settings.STATIC_URL.lstrip('/'))}(?P<path>.*)$",
            serve,
            {"insecure": True},
        )
    )
