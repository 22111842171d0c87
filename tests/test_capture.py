"""Dependency capture: a page that declares nothing is stale after a committed write to
any table it read, and only then (guarantee 13).

One bare ``@cache_page(60)`` per query shape (``tests/capture_views.py``). For each shape
and each kind of committed write: the page is a HIT, the write commits, and the page is a
MISS exactly when the write touched what the page read; a read by primary key only keeps
another row's write out.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from tests.helpers import status
from tests.testapp.models import Product, Tag

P, C, T, PT = "product", "category", "tag", "product_tags"
ROWS = "rows"  # the laptop's row only (a read by pk)

# shape -> what it reads: models (P, C, T, PT) and ROWS for a product read by pk only
READS = {
    "get": {ROWS},
    "get_or_404": {ROWS},
    "detail_view": {ROWS},
    "pk_in": {ROWS},
    "filter": {P},
    "select_related": {P, C},  # a join: both models
    "prefetch_related": {P, T, PT},  # the products, then the tags through the link table
    "aggregate": {P},
    "values_list": {C},
    "subquery": {P, C},
    "exists": {P},  # exists() by pk is not a row read: a row it did not find may appear
    "count": {C},
    "raw_cursor": {T},
    "raw_queryset": {P},
    "template_tag": {T},  # the query runs in a template tag while the page renders
    "fragment": {ROWS, C},  # the view's get(pk=...), and the query in its fragment
}


def _reprice(product: Product, price: str) -> None:
    product.price = Decimal(price)
    product.save()


def _rename(instance) -> None:
    instance.name += "!"
    instance.save()


WRITES = {
    # kind -> (what it writes, how); run with its commit hooks executed
    "this_product": ({P, ROWS}, lambda shop: _reprice(shop["laptop"], "899.00")),
    "other_product": ({P}, lambda shop: _reprice(shop["phone"], "399.00")),
    "category": ({C}, lambda shop: _rename(shop["category"])),
    "tag": ({T}, lambda shop: _rename(shop["tag"])),
}


@pytest.fixture
def tagged(shop):
    tag = Tag.objects.create(name="new")
    shop["laptop"].tags.add(tag)
    return {**shop, "tag": tag}


def _url(shape: str, shop: dict) -> str:
    return f"/capture/{shape}/{shop['laptop'].pk}/"


def _warm(client, url: str) -> None:
    client.get(url)
    assert status(client.get(url)) == "HIT", f"{url} was not cached"


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("shape", list(READS))
def test_a_committed_write_makes_the_page_stale_exactly_when_it_touched_what_it_read(
    client, tagged, shape, write, django_capture_on_commit_callbacks
):
    url = _url(shape, tagged)
    _warm(client, url)
    touched, run = WRITES[write]
    with django_capture_on_commit_callbacks(execute=True):
        run(tagged)
    reads = READS[shape]
    stale = bool(touched & reads)
    if write == "other_product":
        stale = P in reads  # a read by pk keeps another row's write out
    response = client.get(url)
    expected = "MISS" if stale else "HIT"
    assert status(response) == expected, (
        f"{shape} read {sorted(reads)}; after a write to {write} it was {status(response)}"
    )
    if stale:
        assert status(client.get(url)) == "HIT", "the refreshed page was not stored again"


def test_a_link_table_write_reaches_a_page_that_prefetched_through_it(
    client, tagged, django_capture_on_commit_callbacks
):
    url = _url("prefetch_related", tagged)
    _warm(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        tagged["phone"].tags.add(tagged["tag"])  # the phone's row and the link table
    response = client.get(url)
    assert status(response) == "MISS"
    assert "'new'" in response.content.decode().split("499.00")[1]


def test_a_row_read_by_pk_is_stale_when_that_row_is_created(
    client, tagged, django_capture_on_commit_callbacks
):
    """A pk read that found nothing depends on that pk too: ``bulk_create`` (no signals)
    making the row must reach it (the insert tag)."""
    missing = Product.objects.order_by("-pk").first().pk + 100
    url = f"/capture/pk_in/{missing}/"
    _warm(client, url)
    assert client.get(url).content == b"[]"
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.bulk_create(
            [
                Product(
                    pk=missing,
                    name="Tablet",
                    slug="tablet",
                    price=Decimal("1.00"),
                    category=tagged["category"],
                )
            ]
        )
    response = client.get(url)
    assert status(response) == "MISS" and b"1.00" in response.content


def test_capture_off_leaves_only_what_is_declared(
    client, tagged, settings, django_capture_on_commit_callbacks
):
    conf = {**getattr(settings, "SMARTCACHE", {}), "AUTO_DEPENDENCIES": False}
    with override_settings(SMARTCACHE=conf):
        url = _url("filter", tagged)
        _warm(client, url)
        with django_capture_on_commit_callbacks(execute=True):
            _reprice(tagged["phone"], "1.00")
        assert status(client.get(url)) == "HIT", "with capture off, nothing was declared"


@pytest.mark.parametrize("excluded", ["testapp", "testapp.Tag", "TESTAPP.tag"])
def test_excluded_models_are_not_captured(
    client, tagged, settings, excluded, django_capture_on_commit_callbacks
):
    conf = {**getattr(settings, "SMARTCACHE", {}), "AUTO_DEPENDENCIES_EXCLUDE": [excluded]}
    with override_settings(SMARTCACHE=conf):
        url = _url("raw_cursor", tagged)
        _warm(client, url)
        with django_capture_on_commit_callbacks(execute=True):
            _rename(tagged["tag"])
        assert status(client.get(url)) == "HIT", f"{excluded} was captured anyway"
