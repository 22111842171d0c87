"""Install-from-wheel smoke test: the README's install line works in a fresh venv.

Run by .ci/run with the venv's python, from a directory outside the checkout, so the
package can only come from the installed wheel. A minimal project: the app installed,
django-redis as the cache, the system checks clean, one cached view served twice.
"""

import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="smoke",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
        "django_smartcache",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_smartcache.middleware.SmartcacheMiddleware",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    CACHES={
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/13",
        }
    },
    SMARTCACHE={"TIMEOUT": 60},
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402

import django_smartcache  # noqa: E402
from django_smartcache import cache_page  # noqa: E402

assert "site-packages" in django_smartcache.__file__, django_smartcache.__file__


@cache_page(60, depends_on=["smoke"])
def hello(request):
    return HttpResponse("hello")


urlpatterns = [path("", hello)]

call_command("migrate", verbosity=0)
call_command("check", fail_level="ERROR")
client = Client()
first, second = client.get("/"), client.get("/")
assert (first["X-Smartcache"], second["X-Smartcache"]) == ("MISS", "HIT"), (first, second)
print(f"django-smartcache {django_smartcache.__version__} from the wheel: MISS then HIT")
