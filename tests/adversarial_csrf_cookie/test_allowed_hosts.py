"""Hole: a host ALLOWED_HOSTS no longer allows is still served from the cache.

``http._host`` memoizes ``request.get_host()`` per raw header values until a
``setting_changed`` signal. A project whose allowed hosts change at run time without that
signal (a tenant's domain removed from the list in place, or an ALLOWED_HOSTS object that
reads the tenants) keeps the old answer: the removed host gets the cached page (200) where
Django, which calls ``validate_host`` on every ``get_host()``, answers 400.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.test import Client, RequestFactory, override_settings

from tests.helpers import status
from tests.views import CALLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.adversarial_csrf_cookie.views")]

TENANTS = {"a.example", "b.example"}


class TenantHosts(list):
    """ALLOWED_HOSTS read from the live tenant list (a common multi-tenant pattern)."""

    def __iter__(self):
        return iter(sorted(TENANTS))


def _without_common() -> list[str]:
    # CommonMiddleware calls get_host() itself on every request; without it (or with a
    # middleware that skips it) the page key is the only host check of a hit.
    return [m for m in settings.MIDDLEWARE if m != "django.middleware.common.CommonMiddleware"]


@pytest.mark.parametrize("how", ["removed in place", "dynamic list"])
def test_a_host_removed_from_allowed_hosts_at_run_time_is_refused_on_a_hit(how):
    TENANTS.clear()
    TENANTS.update({"a.example", "b.example"})
    hosts = ["a.example", "b.example"] if how == "removed in place" else TenantHosts(["x"])
    with override_settings(MIDDLEWARE=_without_common(), ALLOWED_HOSTS=hosts):
        client = Client()
        first = client.get("/canonical/", HTTP_HOST="a.example")
        second = client.get("/canonical/", HTTP_HOST="a.example")
        assert (first.status_code, status(second)) == (200, "HIT")
        # The tenant a.example is deleted.
        if how == "removed in place":
            settings.ALLOWED_HOSTS.remove("a.example")
        else:
            TENANTS.discard("a.example")
        with pytest.raises(DisallowedHost):  # what Django itself now says about this host
            RequestFactory().get("/canonical/", HTTP_HOST="a.example").get_host()
        page = client.get("/canonical/", HTTP_HOST="a.example")
        assert page.status_code == 400, (
            f"a host ALLOWED_HOSTS refuses got the cached page ({status(page)}, "
            f"{page.status_code}): the memoized get_host() answer outlived the setting"
        )
    assert CALLS["canonical"] == 1


def test_forwarded_hosts_turned_on_at_run_time_are_checked_on_a_hit():
    """``USE_X_FORWARDED_HOST`` assigned without ``override_settings`` (no signal): the
    forwarded host is what Django checks from then on, on the cached page too."""
    with override_settings(MIDDLEWARE=_without_common(), ALLOWED_HOSTS=["a.example"]):
        client = Client()
        forwarded = {"HTTP_HOST": "a.example", "HTTP_X_FORWARDED_HOST": "evil.example"}
        assert client.get("/canonical/", **forwarded).status_code == 200
        assert status(client.get("/canonical/", **forwarded)) == "HIT"
        settings.USE_X_FORWARDED_HOST = True
        try:
            page = client.get("/canonical/", **forwarded)
        finally:
            settings.USE_X_FORWARDED_HOST = False  # inside override_settings: dropped on exit
        assert page.status_code == 400, f"a refused forwarded host got the page ({status(page)})"
