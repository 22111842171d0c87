"""Dependency capture under attack: bare ``@cache_page`` / ``@cached`` entries that a
careless or hostile view could leave stale after a committed write (guarantee 13).

Each test: the entry is cached, a write commits, and the next read must show it.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse
from django.urls import path

from django_smartcache import cache_page, cached, depend_on, uncaptured
from tests.helpers import status
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.urls(__name__)


def _text(value) -> HttpResponse:
    return HttpResponse(str(value))


def _prices() -> list[str]:
    return [str(p) for p in Product.objects.order_by("pk").values_list("price", flat=True)]


# ---------------------------------------------------------------- views


@cache_page(60)
def in_thread(request):
    found: list = []
    worker = threading.Thread(target=lambda: found.extend(_prices()))
    worker.start()
    worker.join()
    return _text(found)


@cache_page(60)
def in_executor(request):
    with ThreadPoolExecutor(1) as pool:
        return _text(pool.submit(_prices).result())


@cache_page(60)
def in_thread_with_context(request):
    found: list = []
    run = contextvars.copy_context().run  # the documented way: the thread runs in the view's
    worker = threading.Thread(target=run, args=(lambda: found.extend(_prices()),))
    worker.start()
    worker.join()
    return _text(found)


@cache_page(60)
def ordered_by_others(request, a, b):
    """A read by pk whose ORDER BY reads other rows of the same table."""
    pricier = Product.objects.filter(category=OuterRef("category"), price__gt=OuterRef("price"))
    nxt = Subquery(pricier.order_by("price").values("price")[:1])
    rows = Product.objects.filter(pk__in=[a, b]).order_by(nxt.asc(nulls_first=True), "name")
    return _text(list(rows.values_list("name", flat=True)))


@cached(60)
def all_prices() -> list[str]:
    return _prices()


@cache_page(60)
def opted_out(request):
    depend_on(Category)  # the page's own declared precision
    with uncaptured():
        prices = all_prices()  # a bare cached function called inside the opt-out
    return _text(prices)


@cache_page(60)
def by_pk(request, pk):
    return _text(list(Product.objects.filter(pk__in=[pk]).values_list("name", flat=True)))


WROTE = []


@cache_page(60)
def reads_then_writes(request, pk):
    price = Product.objects.get(pk=pk).price
    if not WROTE:  # the first computation writes after its read (autocommit)
        WROTE.append(pk)
        Product.objects.filter(pk=pk).update(price=Decimal("1.00"))
    return _text(price)


@cache_page(60)
async def async_page(request):
    from asgiref.sync import sync_to_async

    return _text(await sync_to_async(_prices)())


@cache_page(60)
def raw_lowercase(request):
    with connection.cursor() as cursor:
        table = Product._meta.db_table
        cursor.execute(f"  /* hi */ select price from {table} where id in (select id from {table})")
        return _text(sorted(str(r[0]) for r in cursor.fetchall()))


@cache_page(60)
def calls_cached(request):
    return _text(all_prices())  # a hit or a miss: its dependencies reach the page


@cache_page(60)
def other_database(request):
    return _text(list(Product.objects.using("other").values_list("price", flat=True)))


@cache_page(60)
def many_by_pk(request):
    ids = list(range(1, 5001))
    return _text(len(Product.objects.in_bulk(ids)))


@cache_page(60)
def raw_string_pk(request, pk):
    with connection.cursor() as cursor:  # a string parameter, as a careless raw query sends
        cursor.execute(f"SELECT price FROM {Product._meta.db_table} WHERE id = %s", [f"{pk}_0"])
        return _text([str(row[0]) for row in cursor.fetchall()])


@cache_page(60)
def streamed(request):
    """iterator(): a server-side cursor on PostgreSQL; composed or bytes SQL there too."""
    prices = [str(p.price) for p in Product.objects.filter(price__gt=0).iterator(chunk_size=1)]
    with connection.cursor() as cursor:
        table = Product._meta.db_table
        if connection.vendor == "postgresql":
            from psycopg import sql

            cursor.execute(sql.SQL("SELECT name FROM {}").format(sql.Identifier(table)))
        else:
            cursor.execute(f"SELECT name FROM {table}")
        names = sorted(row[0] for row in cursor.fetchall())
    return _text([sorted(prices), names])


urlpatterns = [
    path("thread/", in_thread),
    path("executor/", in_executor),
    path("thread-with-context/", in_thread_with_context),
    path("ordered/<int:a>/<int:b>/", ordered_by_others),
    path("opted-out/", opted_out),
    path("by-pk/<int:pk>/", by_pk),
    path("reads-then-writes/<int:pk>/", reads_then_writes),
    path("async/", async_page),
    path("raw-lowercase/", raw_lowercase),
    path("calls-cached/", calls_cached),
    path("streamed/", streamed),
    path("other-database/", other_database),
    path("many-by-pk/", many_by_pk),
    path("raw-string-pk/<int:pk>/", raw_string_pk),
]


# ---------------------------------------------------------------- helpers


def _warm(client, url: str) -> bytes:
    client.get(url)
    response = client.get(url)
    assert status(response) == "HIT", f"{url} was not cached"
    return response.content


def _reprice(product: Product, price: str) -> None:
    product.price = Decimal(price)
    product.save()


# ---------------------------------------------------------------- tests


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/thread/", "/executor/"])
@pytest.mark.xfail(
    strict=True,
    reason="known limitation (docs: explanation/capture.md): a thread does not inherit the "
    "context of the code that started it, so its queries are seen outside any entry",
)
def test_a_query_run_in_a_thread_the_view_started_is_captured(client, shop, url):
    before = _warm(client, url)
    _reprice(shop["phone"], "1.00")  # autocommit: bumped at once
    response = client.get(url)
    assert b"1.00" in response.content, (status(response), before, response.content)


@pytest.mark.django_db(transaction=True)
def test_a_thread_started_in_the_views_context_is_captured(client, shop):
    _warm(client, "/thread-with-context/")
    _reprice(shop["phone"], "1.00")
    assert b"1.00" in client.get("/thread-with-context/").content


def test_a_pk_read_ordered_by_other_rows_depends_on_them(
    client, shop, django_capture_on_commit_callbacks
):
    cheap = Product.objects.create(
        name="Cable", slug="cable", price=Decimal("5.00"), category=shop["category"]
    )
    url = f"/ordered/{shop['laptop'].pk}/{shop['phone'].pk}/"
    assert _warm(client, url) == b"['Laptop', 'Phone']"
    with django_capture_on_commit_callbacks(execute=True):
        _reprice(cheap, "2000.00")  # neither row read, but the order they come in changes
    response = client.get(url)
    assert response.content == b"['Phone', 'Laptop']", status(response)


def test_a_cached_function_called_inside_uncaptured_still_captures_its_own_reads(
    client, shop, django_capture_on_commit_callbacks
):
    _warm(client, "/opted-out/")
    assert all_prices() == ["999.00", "499.00"]
    with django_capture_on_commit_callbacks(execute=True):
        _reprice(shop["phone"], "1.00")
    assert all_prices() == ["999.00", "1.00"], "the bare cached function was left stale"


def test_a_missing_row_made_by_changing_a_pk_reaches_the_pk_read(
    client, shop, django_capture_on_commit_callbacks
):
    missing = Product.objects.order_by("-pk").first().pk + 100
    url = f"/by-pk/{missing}/"
    assert _warm(client, url) == b"[]"
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.filter(pk=shop["phone"].pk).update(id=missing)
    response = client.get(url)
    assert response.content == b"['Phone']", status(response)


@pytest.mark.django_db(transaction=True)
def test_a_write_the_computation_made_after_its_read_is_not_hidden(client, shop):
    WROTE.clear()
    url = f"/reads-then-writes/{shop['laptop'].pk}/"
    assert client.get(url).content == b"999.00"
    response = client.get(url)
    assert response.content == b"1.00", status(response)


def test_an_async_page_captures_its_reads(client, shop, django_capture_on_commit_callbacks):
    _warm(client, "/async/")
    with django_capture_on_commit_callbacks(execute=True):
        _reprice(shop["phone"], "1.00")
    assert b"1.00" in client.get("/async/").content


def test_lowercase_parenthesised_commented_raw_sql_is_captured(
    client, shop, django_capture_on_commit_callbacks
):
    _warm(client, "/raw-lowercase/")
    with django_capture_on_commit_callbacks(execute=True):
        _reprice(shop["phone"], "1.00")
    assert b"'1" in client.get("/raw-lowercase/").content  # SQLite: '1', others: '1.00'


@pytest.mark.parametrize("warm_first", [True, False])
def test_a_page_around_a_bare_cached_function_goes_stale_with_it(
    client, shop, warm_first, django_capture_on_commit_callbacks
):
    if warm_first:
        all_prices()  # the page will find it cached: a hit's dependencies bubble up
    _warm(client, "/calls-cached/")
    with django_capture_on_commit_callbacks(execute=True):
        _reprice(shop["phone"], "1.00")
    assert b"1.00" in client.get("/calls-cached/").content


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_a_read_and_a_write_through_a_second_database(client):
    category = Category.objects.using("other").create(name="C", slug="c")
    Product.objects.using("other").create(name="T", slug="t", price=3, category=category)
    _warm(client, "/other-database/")
    Product.objects.using("other").update(price=4)
    assert b"4.00" in client.get("/other-database/").content


def test_a_page_reading_thousands_of_rows_by_pk_keeps_the_model(
    client, shop, django_capture_on_commit_callbacks
):
    _warm(client, "/many-by-pk/")
    with django_capture_on_commit_callbacks(execute=True):
        _reprice(shop["phone"], "1.00")  # a row it read, among 5000 pks asked for
    assert status(client.get("/many-by-pk/")) == "MISS"


def test_a_raw_pk_read_with_a_string_the_database_reads_otherwise(
    client, shop, django_capture_on_commit_callbacks
):
    """MySQL reads '7_0' as 7 (a warning); Python's int() as 70: not the row's tag."""
    if connection.vendor == "postgresql":
        return  # PostgreSQL refuses '7_0' for a bigint: nothing to read wrong
    url = f"/raw-string-pk/{shop['phone'].pk}/"
    before = _warm(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        _reprice(shop["phone"], "1.00")
    response = client.get(url)
    assert response.content == before.replace(b"499", b"1") or status(response) == "MISS"


def test_a_raw_pk_write_with_a_string_the_database_reads_otherwise(
    client, shop, django_capture_on_commit_callbacks
):
    """The write side of the same: MySQL updates row 7 for '7_0'; the tag must not be 70."""
    if connection.vendor == "postgresql":
        return  # PostgreSQL refuses '7_0' for a bigint
    phone = shop["phone"]
    url = f"/by-pk/{phone.pk}/"
    _warm(client, url)
    with django_capture_on_commit_callbacks(execute=True), connection.cursor() as cursor:
        table = Product._meta.db_table
        cursor.execute(f"UPDATE {table} SET name = %s WHERE id = %s", ["Renamed", f"{phone.pk}_0"])
    if not Product.objects.filter(pk=phone.pk, name="Renamed").exists():
        return  # SQLite compares '7_0' as text: no row was written
    assert client.get(url).content == b"['Renamed']"


@pytest.mark.parametrize("write", ["price", "name"])
def test_server_side_cursors_and_composed_sql_are_captured(
    client, shop, write, django_capture_on_commit_callbacks
):
    _warm(client, "/streamed/")
    with django_capture_on_commit_callbacks(execute=True):
        if write == "price":
            _reprice(shop["phone"], "1.00")
        else:
            Product.objects.filter(pk=shop["phone"].pk).update(name="Renamed")
    assert (b"1.00" if write == "price" else b"Renamed") in client.get("/streamed/").content
