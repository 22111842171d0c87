"""Write forms from the brief, end to end on the database under test: each must leave
every dependent entry (model-level and row-level) fresh after it commits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F, OuterRef, Subquery

from tests.adversarial_writes.common import (  # noqa: F401
    Category,
    Product,
    assert_fresh,
    on,
    run,
    shop,
    table,
    warm,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _pk(s, key="laptop"):
    return s[key].pk


def _cte_insert_returning(s):
    run(
        f"WITH n AS (INSERT INTO testapp_tag (name) VALUES ('x') RETURNING id) "
        f"UPDATE {table()} SET price = 7 WHERE id = %s",
        [_pk(s)],
    )


def _select_for_update_then_update(s):
    with transaction.atomic():
        list(Product.objects.select_for_update().filter(pk=_pk(s)))
        run(f"UPDATE {table()} SET price = 7 WHERE id = %s", [_pk(s)])


def _insert_ignore_unique_slug(s):  # conflicts on the unique slug: changes nothing
    run(
        f"INSERT IGNORE INTO {table()} (name, slug, price, category_id) VALUES (%s, %s, 7, %s)",
        ["X", "laptop", s["category"].pk],
    )


def _on_duplicate_unique_slug(s):
    run(
        f"INSERT INTO {table()} (name, slug, price, category_id) VALUES (%s, %s, 7, %s) "
        f"ON DUPLICATE KEY UPDATE price = 7",
        ["X", "laptop", s["category"].pk],
    )


def _on_conflict_slug(s):
    run(
        f"INSERT INTO {table()} (name, slug, price, category_id) VALUES (%s, %s, 7, %s) "
        f"ON CONFLICT (slug) DO UPDATE SET price = 7",
        ["X", "laptop", s["category"].pk],
    )


def _subquery_update(s):
    cheapest = Product.objects.filter(category=OuterRef("category")).order_by("price")
    Product.objects.filter(pk=_pk(s)).update(price=Subquery(cheapest.values("price")[:1]) + 6)


FORMS = {
    "update_only": (
        lambda s: run(f"UPDATE ONLY {table()} SET price = 7 WHERE id = %s", [_pk(s)]),
        {"postgresql"},
    ),
    "cte_insert_returning": (_cte_insert_returning, {"postgresql"}),
    "select_for_update_then_update": (_select_for_update_then_update, None),
    "delete_order_by_limit": (
        lambda s: run(
            f"DELETE FROM {table()} WHERE category_id = %s ORDER BY id LIMIT 1", [s["category"].pk]
        ),
        {"mysql"},
    ),
    "update_order_by_limit_pk": (
        lambda s: run(
            f"UPDATE {table()} SET price = 7 WHERE id = %s ORDER BY id LIMIT 1", [_pk(s)]
        ),
        {"mysql"},
    ),
    "insert_ignore_unique_slug": (_insert_ignore_unique_slug, {"mysql"}),
    "on_duplicate_key_unique_slug": (_on_duplicate_unique_slug, {"mysql"}),
    "on_conflict_unique_slug": (_on_conflict_slug, {"postgresql", "sqlite"}),
    "pk_as_string": (
        lambda s: run(f"UPDATE {table()} SET price = 7 WHERE id = %s", [str(_pk(s))]),
        None,
    ),
    "pk_as_padded_string": (
        lambda s: run(f"UPDATE {table()} SET price = 7 WHERE id = %s", [f"0{_pk(s)}"]),
        {"sqlite", "mysql", "postgresql"},
    ),
    "pk_as_decimal": (
        lambda s: run(f"UPDATE {table()} SET price = 7 WHERE id = %s", [Decimal(_pk(s))]),
        None,
    ),
    "alter_rename_roundtrip": (
        lambda s: [
            run(f"ALTER TABLE {table()} RENAME TO adv_tmp_product"),
            run("UPDATE adv_tmp_product SET price = 7 WHERE id = %s", [_pk(s)]),
            run(f"ALTER TABLE adv_tmp_product RENAME TO {table()}"),
        ],
        {"sqlite", "postgresql", "mysql"},
    ),
    "f_expression": (
        lambda s: Product.objects.filter(pk=_pk(s)).update(price=F("price") + 6),
        None,
    ),
    "subquery": (_subquery_update, None),
    "join_filter_update": (
        lambda s: Product.objects.filter(category__slug="c", slug="laptop").update(price=7),
        None,
    ),
    "bulk_create_ignore_conflicts": (
        lambda s: Product.objects.bulk_create(
            [
                Product(name="X", slug="laptop", price=7, category=s["category"]),
                Product(name="New", slug="new", price=3, category=s["category"]),
            ],
            ignore_conflicts=True,
        ),
        None,
    ),
    "update_or_create": (
        lambda s: Product.objects.update_or_create(slug="laptop", defaults={"price": 7}),
        None,
    ),
    "collector_cascade": (lambda s: Category.objects.filter(pk=s["category"].pk).delete(), None),
    "queryset_delete": (lambda s: Product.objects.filter(slug="laptop").delete(), None),
    "nested_atomic_rolled_back_savepoint": (lambda s: _nested(s), None),
}


def _nested(s):
    with transaction.atomic():
        Product.objects.filter(pk=_pk(s)).update(price=7)
        try:
            with transaction.atomic():
                Product.objects.filter(pk=_pk(s, "phone")).update(price=8)
                raise RuntimeError
        except RuntimeError:
            pass


@pytest.mark.parametrize("form", [f for f in FORMS if on(FORMS[f][1])])
def test_write_form_leaves_nothing_stale(shop, form):  # noqa: F811
    write, _vendors = FORMS[form]
    warm(shop)
    write(shop)
    assert_fresh(shop, form)
