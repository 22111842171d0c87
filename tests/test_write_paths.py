"""Every write path invalidates pages, fragments and functions, and only after commit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.template import Context, Template

from tests import funcs
from tests.helpers import status
from tests.testapp.models import Category, Product, Tag

pytestmark = pytest.mark.django_db(transaction=True)

FRAGMENT = Template(
    "{% load smartcache %}{% smartcache 60 prices depends_on 'testapp.Product' %}"
    "{% for p in products %}{{ p.name }}={{ p.price }};{% endfor %}{% endsmartcache %}"
)


def fragment() -> str:
    return FRAGMENT.render(Context({"products": Product.objects.order_by("pk")}))


@pytest.fixture
def data():
    category = Category.objects.create(name="C", slug="c")
    laptop = Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)
    phone = Product.objects.create(name="Phone", slug="phone", price=2, category=category)
    return {"category": category, "laptop": laptop, "phone": phone}


def table() -> str:
    return connection.ops.quote_name(Product._meta.db_table)


def _raw(sql: str, params=(), many: bool = False) -> None:
    with connection.cursor() as cursor:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)


def _upsert(data) -> None:
    kwargs = {"update_conflicts": True, "update_fields": ["price"]}
    if connection.features.supports_update_conflicts_with_target:
        kwargs["unique_fields"] = ["slug"]
    Product.objects.bulk_create(
        [Product(name="Laptop", slug="laptop", price=5, category=data["category"])], **kwargs
    )


def _replace(data) -> None:
    laptop = data["laptop"]
    # REPLACE is MySQL/SQLite syntax; PostgreSQL's way to replace a row is an upsert.
    verb, tail = "REPLACE", ""
    if connection.vendor == "postgresql":
        verb, tail = "INSERT", " ON CONFLICT (id) DO UPDATE SET price = EXCLUDED.price"
    _raw(
        f"{verb} INTO {table()} (id, name, slug, price, category_id) "
        f"VALUES (%s, %s, %s, %s, %s){tail}",
        [laptop.pk, "Laptop", "laptop", 5, data["category"].pk],
    )


PRICE_PATHS = {
    "save": lambda d: _with_price(d["laptop"]).save(),
    "update": lambda d: Product.objects.filter(slug="laptop").update(price=5),
    "update_by_pk": lambda d: Product.objects.filter(pk=d["laptop"].pk).update(price=5),
    "bulk_update": lambda d: Product.objects.bulk_update([_with_price(d["laptop"])], ["price"]),
    "update_or_create": lambda d: Product.objects.update_or_create(
        slug="laptop", defaults={"price": 5}
    ),
    "bulk_create_upsert": _upsert,
    "raw_update": lambda d: _raw(f"UPDATE {table()} SET price = %s WHERE slug = %s", [5, "laptop"]),
    "raw_executemany": lambda d: _raw(
        f"UPDATE {table()} SET price = %s WHERE slug = %s", [(5, "laptop")], many=True
    ),
    "raw_replace": _replace,
}


def _with_price(product: Product) -> Product:
    product.price = Decimal("5")
    return product


def warm(client) -> None:
    for url in ("/catalog/", "/products/laptop/"):
        client.get(url)
        assert status(client.get(url)) == "HIT"
    fragment()
    funcs.price_list()
    funcs.product_price("laptop")


@pytest.mark.parametrize("path", list(PRICE_PATHS))
def test_price_change_reaches_every_kind_of_entry_only_after_commit(client, data, path):
    warm(client)
    with transaction.atomic():
        PRICE_PATHS[path](data)
        # Written but not committed: nothing was invalidated yet.
        assert status(client.get("/catalog/")) == "HIT"
        assert "Laptop=1.00" in fragment()
    catalog = client.get("/catalog/")
    assert (status(catalog), catalog.content) == ("MISS", b"Laptop=5.00, Phone=2.00")
    assert client.get("/products/laptop/").content == b"Laptop=5.00"
    assert "Laptop=5.00" in fragment()
    assert funcs.price_list()[0] == ("Laptop", "5.00")
    assert funcs.product_price("laptop") == "5.00"


@pytest.mark.parametrize("path", list(PRICE_PATHS))
def test_autocommit_write_invalidates_at_once(client, data, path):
    warm(client)
    PRICE_PATHS[path](data)
    assert client.get("/catalog/").content == b"Laptop=5.00, Phone=2.00"
    assert funcs.product_price("laptop") == "5.00"


ROW_PATHS = {
    "bulk_create": (
        lambda d: Product.objects.bulk_create(
            [Product(name="Tablet", slug="tablet", price=3, category=d["category"])]
        ),
        b"Laptop=1.00, Phone=2.00, Tablet=3.00",
    ),
    "raw_insert": (
        lambda d: _raw(
            f"INSERT INTO {table()} (name, slug, price, category_id) VALUES (%s, %s, %s, %s)",
            ["Tablet", "tablet", 3, d["category"].pk],
        ),
        b"Laptop=1.00, Phone=2.00, Tablet=3.00",
    ),
    "queryset_delete": (lambda d: Product.objects.filter(slug="phone").delete(), b"Laptop=1.00"),
    "raw_delete": (
        lambda d: _raw(f"DELETE FROM {table()} WHERE slug = %s", ["phone"]),
        b"Laptop=1.00",
    ),
}


@pytest.mark.parametrize("path", list(ROW_PATHS))
def test_inserts_and_deletes_reach_model_level_entries(client, data, path):
    write, expected = ROW_PATHS[path]
    warm(client)
    with transaction.atomic():
        write(data)
        assert status(client.get("/catalog/")) == "HIT"
    assert client.get("/catalog/").content == expected
    assert len(funcs.price_list()) == expected.count(b"=")


@pytest.mark.parametrize(
    "write",
    [
        lambda d: Product.objects.filter(pk=d["phone"].pk).update(price=9),
        lambda d: Product.objects.bulk_update([_with_price(d["phone"])], ["price"]),
        lambda d: _raw(f"UPDATE {table()} SET price = %s WHERE id = %s", [9, d["phone"].pk]),
        lambda d: _with_price(d["phone"]).save(),
        lambda d: d["phone"].delete(),
    ],
    ids=["update_by_pk", "bulk_update", "raw_update_by_pk", "save", "delete"],
)
def test_writes_by_primary_key_keep_other_rows_entries(client, data, write):
    warm(client)
    write(data)
    assert status(client.get("/products/laptop/")) == "HIT"
    assert status(client.get("/catalog/")) == "MISS"


def test_filtered_update_reaches_every_row_level_entry(client, data):
    warm(client)
    Product.objects.filter(price__lt=100).update(price=7)
    response = client.get("/products/laptop/")
    assert (status(response), response.content) == ("MISS", b"Laptop=7.00")


def test_m2m_through_table_writes_are_seen(client, data):
    tag = Tag.objects.create(name="sale")
    warm(client)
    Product.tags.through.objects.bulk_create(
        [Product.tags.through(product_id=data["laptop"].pk, tag_id=tag.pk)]
    )
    assert data["laptop"].tags.count() == 1
    # The write does not say which rows it links: both sides are purged, as .add() would
    # have bumped the laptop's row (and more, never less).
    assert status(client.get("/products/laptop/")) == "MISS"


def test_rolled_back_transaction_bumps_nothing(client, data):
    warm(client)
    with pytest.raises(RuntimeError), transaction.atomic():
        Product.objects.update(price=8)
        raise RuntimeError("roll back")
    assert status(client.get("/catalog/")) == "HIT"
    assert status(client.get("/products/laptop/")) == "HIT"


def test_rolled_back_savepoint_bumps_only_what_was_committed(client, data):
    warm(client)
    client.get("/products/phone/")
    with transaction.atomic():
        Product.objects.filter(pk=data["phone"].pk).update(price=9)
        with pytest.raises(RuntimeError), transaction.atomic():
            Product.objects.filter(pk=data["laptop"].pk).update(price=8)
            raise RuntimeError("roll back the savepoint")
    assert client.get("/products/phone/").content == b"Phone=9.00"
    assert status(client.get("/products/laptop/")) == "HIT"


def test_one_bump_per_transaction(client, data, redis_commands, monkeypatch):
    from django_smartcache.frontends import functions

    monkeypatch.setattr(functions, "write_through_functions", [])
    warm(client)
    redis_commands.reset()
    with transaction.atomic():
        for price in range(10, 15):
            Product.objects.filter(slug="laptop").update(price=price)
            _with_price(data["phone"]).save()
        assert redis_commands.count == 0, "nothing is sent before the commit"
    assert redis_commands.count == 1, redis_commands.commands


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_writes_through_another_database_bump_on_its_commit(client, data):
    category = Category.objects.using("other").create(name="C", slug="c")
    Product.objects.using("other").create(name="Tablet", slug="tablet", price=1, category=category)
    warm(client)
    with transaction.atomic(using="other"):
        Product.objects.using("other").update(price=4)
        assert status(client.get("/catalog/")) == "HIT"
    assert status(client.get("/catalog/")) == "MISS"
    assert connections["other"].in_atomic_block is False


if "mysql" in settings.DATABASES["default"]["ENGINE"]:  # TRUNCATE is MySQL/MariaDB syntax here

    def test_truncate_reaches_model_level_entries(client, data):
        warm(client)
        _raw("SET FOREIGN_KEY_CHECKS = 0")
        try:
            _raw(f"TRUNCATE TABLE {table()}")
        finally:
            _raw("SET FOREIGN_KEY_CHECKS = 1")
        assert client.get("/catalog/").content == b""
        assert client.get("/products/laptop/").status_code == 404


def test_replica_delay_bumps_a_second_time(client, data):
    import time

    from django.test import override_settings

    with override_settings(SMARTCACHE={"REPLICA_DELAY": 0.3}):
        warm(client)
        Product.objects.filter(slug="laptop").update(price=6)
        # Refilled at once (as from a lagging replica), then bumped again after the delay.
        client.get("/catalog/")
        assert status(client.get("/catalog/")) == "HIT"
        deadline = time.monotonic() + 5
        while status(client.get("/catalog/")) == "HIT" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status(client.get("/catalog/")) == "HIT", "refilled after the second bump"
        assert time.monotonic() < deadline, "the delayed bump never came"
