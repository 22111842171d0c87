"""``manage.py smartcache purge|stats|warm``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tests.helpers import status
from tests.views import CALLS

pytestmark = pytest.mark.django_db

PAGES = ("/catalog/", "/products/laptop/", "/products/phone/", "/home/", "/plain/?a=1")


def smartcache(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("smartcache", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def warm(client) -> None:
    for url in PAGES:
        client.get(url)
        assert status(client.get(url)) == "HIT", url


def stale(client) -> set[str]:
    return {url for url in PAGES if status(client.get(url)) == "MISS"}


# --------------------------------------------------------------------------- purge


@pytest.mark.parametrize(
    ("args", "said", "purged"),
    [
        (["--all"], "Purged everything in the smart cache.", set(PAGES)),
        (
            ["--model", "testapp.Product"],
            "Purged the cache for products (testapp.Product).",
            {"/catalog/", "/products/laptop/", "/products/phone/"},
        ),
        (["--tag", "homepage"], "Purged entries tagged 'homepage'.", {"/home/"}),
        (["--url", "/plain/?b=2"], "Purged every cached variant of /plain/.", {"/plain/?a=1"}),
    ],
)
def test_purge(args, said, purged, client, shop):
    warm(client)
    out, _ = smartcache("purge", *args)
    assert out.strip() == said
    assert stale(client) == purged


def test_purge_rows_by_pk(client, shop):
    warm(client)
    out, _ = smartcache("purge", "--model", "testapp.product", "--pk", str(shop["laptop"].pk))
    assert out.strip() == f"Purged the cache for testapp.Product rows {shop['laptop'].pk}."
    assert stale(client) == {"/products/laptop/", "/catalog/"}


def test_purge_of_a_deleted_row_still_reaches_its_entries(client, shop):
    warm(client)
    pk = shop["phone"].pk
    type(shop["phone"]).objects.filter(pk=pk).update(name="gone")  # no signal: still cached
    smartcache("purge", "--model", "testapp.Product", "--pk", str(pk), "--pk", "999999")
    assert "/products/phone/" in stale(client)


def test_purge_twice_is_harmless(client, shop):
    warm(client)
    smartcache("purge", "--all")
    smartcache("purge", "--all")
    assert stale(client) == set(PAGES)
    assert stale(client) == set()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ([], "invalid choice|required: subcommand|the following arguments are required"),
        (["nope"], "invalid choice: 'nope'"),
        (["purge"], "one of the arguments --all --model --url --tag is required"),
        (["purge", "--all", "--url", "/x/"], "not allowed with argument --all"),
        (["purge", "--tag", "x", "--pk", "1"], "--pk needs --model"),
        (["purge", "--model", "testapp.Nope"], "No installed model is called 'testapp.Nope'"),
        (["purge", "--model", "Product"], "not of the form 'app_label.ModelName'"),
        (
            ["purge", "--model", "testapp.Product", "--pk", "abc"],
            "--pk: .*abc.* must be an integer",
        ),
        (["purge", "--url", "catalog/"], "--url: 'catalog/' is not an http"),
        (["purge", "--tag", " "], "--tag needs a non-empty tag"),
        (["warm"], "Give URLs to warm, or --sitemap"),
        (["warm", "catalog/"], "'catalog/' is neither a full URL nor a path"),
        (["warm", "--sitemap", "/nope.xml"], "the sitemap http://testserver/nope.xml answered 404"),
        (["warm", "--sitemap", "/catalog/"], "is not valid XML"),
        (["stats", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_are_a_clear_command_error(args, error, shop):
    with pytest.raises(CommandError, match=error):
        smartcache(*args, *(["--host", "testserver"] if args[:1] == ["warm"] else []))


# --------------------------------------------------------------------------- stats


def test_stats_prints_the_admin_pages_figures_as_tables(client, shop):
    client.get("/catalog/")
    client.get("/catalog/")
    smartcache("purge", "--model", "testapp.Product")
    out, _ = smartcache("stats")
    lines = out.splitlines()
    assert lines[0].startswith("Everything last purged: -")
    product = next(line.split() for line in lines if line.strip().startswith("testapp.product "))
    assert product[1] != "-" and "UTC" in product  # last invalidated
    row = next(line for line in lines if line.strip().startswith("testapp.product "))
    assert "tests.views.catalog (declared, captured from its queries)" in row
    catalog = next(
        line.split() for line in lines if line.strip().startswith("tests.views.catalog ")
    )
    assert catalog == ["tests.views.catalog", "view", "default", "1", "1", "0", "0", "0", "50%"]
    tag = next(line.split() for line in lines if line.strip().startswith("testapp.tag "))
    assert tag == ["testapp.tag", "-", "-"]


# --------------------------------------------------------------------------- warm


def test_warm_requests_urls_and_sums_up(client, shop):
    out, _ = smartcache(
        "warm", "/catalog/", "http://testserver/products/laptop/", "--host", "testserver"
    )
    assert out.splitlines()[-1].startswith("Warmed 2 URLs in ")
    assert out.splitlines()[-1].endswith(": 0 HIT, 2 MISS, 0 BYPASS, 0 errors.")
    assert status(client.get("/catalog/")) == "HIT"  # warmed under the visitors' key
    assert status(client.get("/products/laptop/")) == "HIT"
    out, _ = smartcache("warm", "/catalog/", "/products/laptop/", "--host", "testserver")
    assert out.strip().endswith(": 2 HIT, 0 MISS, 0 BYPASS, 0 errors.")
    assert CALLS["catalog"] == 1


def test_warm_uses_the_host_it_is_given(client, shop):
    smartcache("warm", "/catalog/", "--host", "shop.example", "--https")
    assert status(client.get("/catalog/", HTTP_HOST="shop.example", secure=True)) == "HIT"
    assert status(client.get("/catalog/")) == "MISS"


def test_warm_shows_progress_at_verbosity_2(shop):
    out, _ = smartcache(
        "warm", "/catalog/", "/home/", "/catalog/", "--host", "testserver", "-v", "2"
    )
    assert out.splitlines()[:2] == [
        "[1/2] 200 MISS     http://testserver/catalog/",
        "[2/2] 200 MISS     http://testserver/home/",
    ]


def test_warm_reports_errors_and_fails(client, shop):
    client.get("/cookie/")  # sets a cookie, so not cacheable: the next request bypasses
    with pytest.raises(CommandError, match=r"Warmed 3 URLs .*: 0 HIT, 1 MISS, 1 BYPASS, 1 error\."):
        smartcache("warm", "/catalog/", "/nope/", "/cookie/", "--host", "testserver")


def test_warm_the_sitemap(client, shop):
    out, _ = smartcache("warm", "--sitemap", "--host", "testserver", "-v", "2")
    warmed = [line.split()[-1] for line in out.splitlines() if line.startswith("[")]
    assert warmed == [
        "http://testserver/catalog/",
        "http://testserver/home/",
        "http://testserver/products/laptop/",
        "http://testserver/products/phone/",
    ]
    assert out.strip().endswith(": 0 HIT, 4 MISS, 0 BYPASS, 0 errors.")
    assert status(client.get("/products/phone/")) == "HIT"


def test_warm_sitemap_needs_django_contrib_sitemaps(shop):
    apps = [app for app in settings.INSTALLED_APPS if app != "django.contrib.sitemaps"]
    with (
        override_settings(INSTALLED_APPS=apps),
        pytest.raises(CommandError, match="needs django.contrib.sitemaps"),
    ):
        smartcache("warm", "--sitemap")


@pytest.mark.django_db(transaction=True)
def test_warm_over_http_from_a_running_server(live_server, client):
    from tests.testapp.models import Category, Product

    category = Category.objects.create(name="C", slug="c")
    Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)
    out, _ = smartcache(
        "warm",
        "--http",
        f"{live_server.url}/catalog/",
        "/home/",
        "--host",
        live_server.url.split("//")[1],
    )
    assert out.strip().endswith(": 0 HIT, 2 MISS, 0 BYPASS, 0 errors.")
    out, _ = smartcache("warm", "--http", f"{live_server.url}/catalog/")
    assert out.strip().endswith(": 1 HIT, 0 MISS, 0 BYPASS, 0 errors.")
