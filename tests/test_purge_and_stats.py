"""Purge by URL (one bump for every variant), bump times, and the batched hit counters."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from django_smartcache import invalidate, invalidate_all, invalidate_url
from django_smartcache.core import breaker, stats
from django_smartcache.invalidation.purge import url_path
from django_smartcache.operations import overview
from django_smartcache.stores.factory import get_store
from tests import funcs
from tests.helpers import status
from tests.testapp.models import Product
from tests.views import CALLS

pytestmark = pytest.mark.django_db

VARY = "/vary/Accept-Language/"


def warm(client, url: str, **extra) -> None:
    client.get(url, **extra)
    assert status(client.get(url, **extra)) == "HIT", (url, extra)


# --------------------------------------------------------------------------- invalidate_url


def test_url_purge_reaches_every_variant_of_the_path_and_nothing_else(client, shop):
    variants = [
        ("/plain/", {}),
        ("/plain/?a=1", {}),
        ("/plain/?b=2&a=1", {}),
        ("/plain/", {"HTTP_HOST": "a.example"}),
        ("/plain/", {"HTTP_HOST": "b.example", "secure": True}),
    ]
    for url, extra in variants:
        warm(client, url, **extra)
    warm(client, "/home/")
    warm(client, "/catalog/")

    assert invalidate_url("/plain/") == "/plain/"

    for url, extra in variants:
        assert status(client.get(url, **extra)) == "MISS", (url, extra)
    assert status(client.get("/home/")) == "HIT"
    assert status(client.get("/catalog/")) == "HIT"


def test_url_purge_reaches_vary_variants_and_head(client):
    for language in ("fr", "de"):
        warm(client, VARY, HTTP_ACCEPT_LANGUAGE=language)
    assert status(client.head(VARY, HTTP_ACCEPT_LANGUAGE="fr")) == "HIT"
    invalidate_url(f"https://any.example{VARY}?utm=1#top")
    assert status(client.head(VARY, HTTP_ACCEPT_LANGUAGE="fr")) == "MISS"
    fresh = [client.get(VARY, HTTP_ACCEPT_LANGUAGE=lang) for lang in ("fr", "de")]
    assert [status(r) for r in fresh] == ["MISS", "MISS"]
    assert [r.content for r in fresh] == [b"value=fr", b"value=de"]


def test_url_purge_is_one_round_trip_and_a_hit_stays_one(client, shop, redis_commands):
    for n in range(20):
        client.get(f"/plain/?page={n}")
    redis_commands.reset()
    invalidate_url("/plain/")
    assert redis_commands.count == 1, redis_commands.commands
    client.get("/plain/?page=3")
    redis_commands.reset()
    assert status(client.get("/plain/?page=3")) == "HIT"
    assert redis_commands.count == 1, redis_commands.commands


def test_url_purge_twice_is_harmless(client):
    warm(client, "/plain/")
    invalidate_url("/plain/")
    invalidate_url("/plain/")
    assert status(client.get("/plain/")) == "MISS"
    assert status(client.get("/plain/")) == "HIT"


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ("/shop/?page=2", "/shop/"),
        ("https://example.com/shop/", "/shop/"),
        ("http://example.com", "/"),
        ("/shop/#top", "/shop/"),
        ("/caf%C3%A9/", "/café/"),
        ("  /spaced/  ", "/spaced/"),
    ],
)
def test_url_path_is_the_path_django_sees(given, path):
    assert url_path(given) == path


@pytest.mark.parametrize("bad", ["shop/", "", "mailto:someone@example.com", "ftp://h/x"])
def test_url_purge_of_something_that_is_not_a_url_is_a_value_error(bad):
    with pytest.raises(ValueError, match="not an http"):
        invalidate_url(bad)


def test_url_purge_of_a_non_string_is_a_type_error():
    with pytest.raises(TypeError, match="must be a string"):
        invalidate_url(42)


# --------------------------------------------------------------------------- bump times


@pytest.mark.parametrize("alias", ["default", "locmem"])
def test_bumps_record_when_models_and_everything_were_invalidated(alias, shop):
    store = get_store(alias)
    tags = ["g", "m:testapp.product", "m:testapp.category", "t:homepage"]
    assert store.bump_times(tags) == {}
    before = time.time()
    store.bump(["m:testapp.product", "p:testapp.product", "t:homepage"])
    store.bump(["g"])
    found = store.bump_times(tags)
    assert set(found) == {"g", "m:testapp.product"}  # custom tags are not recorded
    assert all(before - 1 <= when <= time.time() + 1 for when in found.values())


def test_recording_the_bump_time_costs_no_extra_round_trip(shop, redis_commands, monkeypatch):
    from django_smartcache.frontends import functions

    monkeypatch.setattr(functions, "write_through_functions", [])  # no write-through work to count
    redis_commands.reset()
    invalidate(shop["laptop"])
    assert redis_commands.count == 1, redis_commands.commands
    assert "m:testapp.product" in get_store().bump_times(["m:testapp.product"])


def test_overview_shows_the_last_invalidation_of_each_model(shop):
    invalidate(Product)
    invalidate_all()
    data = overview.collect()
    rows = {row.label: row for row in data.models}
    assert rows["testapp.product"].last_invalidated is not None
    assert rows["testapp.tag"].last_invalidated is None
    assert data.purged_all is not None


# --------------------------------------------------------------------------- counters


def counts(name: str) -> dict[str, int]:
    entry = next(e for e in overview.collect().entries if e.name == name)
    return {"HIT": entry.hit, "MISS": entry.miss, "STALE": entry.stale, "BYPASS": entry.bypass}


def test_views_count_hits_misses_and_bypasses(client, admin_user, shop):
    client.get("/catalog/")
    client.get("/catalog/")
    client.get("/catalog/")
    client.post("/catalog/")
    assert counts("tests.views.catalog") == {"HIT": 2, "MISS": 1, "STALE": 0, "BYPASS": 1}


def test_functions_count_hits_misses_and_bypasses(shop):
    funcs.price_list()
    funcs.price_list()
    with override_settings(SMARTCACHE={"ENABLED": False}):
        funcs.price_list()
    assert counts("tests.funcs.price_list") == {"HIT": 1, "MISS": 1, "STALE": 0, "BYPASS": 1}


def test_counting_costs_no_round_trip_until_the_interval_passes(client, shop, redis_commands):
    client.get("/catalog/")
    redis_commands.reset()
    for _ in range(10):
        assert status(client.get("/catalog/")) == "HIT"
    assert redis_commands.count == 10, redis_commands.commands


def test_counters_are_flushed_in_one_pipeline_at_the_end_of_a_request(
    client, shop, redis_commands, monkeypatch
):
    client.get("/catalog/")
    monkeypatch.setattr(stats, "FLUSH_INTERVAL", 0.0)
    redis_commands.reset()
    assert status(client.get("/catalog/")) == "HIT"
    assert redis_commands.count == 2, redis_commands.commands  # the hit, then one flush
    assert set(redis_commands.commands[-1]) == {"HINCRBY", "EXPIRE"}  # with the time bucket
    shared = get_store().read_stats([])
    assert shared["view|tests.views.catalog|HIT"] == 1
    assert shared["view|tests.views.catalog|MISS"] == 1


def test_counters_of_several_flushes_add_up(client, shop):
    for _ in range(3):
        client.get("/catalog/")
        stats.flush()  # as if each request came from another process
    assert get_store().read_stats([])["view|tests.views.catalog|HIT"] == 2


def test_counters_that_could_not_be_flushed_are_kept(client, shop, monkeypatch):
    client.get("/catalog/")

    def down(self, counts, *recent):
        raise ConnectionError("down")

    with monkeypatch.context() as patch:
        patch.setattr(type(get_store()), "add_stats", down)
        stats.flush()
    assert get_store().read_stats([]) == {}
    breaker._breakers.clear()  # the failure opened the breaker; the cache is back
    stats.flush()
    assert get_store().read_stats([])["view|tests.views.catalog|MISS"] == 1


def test_models_discovered_at_run_time_are_counted_as_dependencies(client, shop):
    client.get("/products/laptop/")
    product = next(r for r in overview.collect().models if r.label == "testapp.product")
    found = {(d.name, d.declared) for d in product.dependants}
    assert ("tests.views.product_detail", False) in found
    assert CALLS["detail"] == 1
