"""What capture takes from a statement (``sqlreads``, ``capture.read_tags``): the rows of a
read by primary key only, the whole model of every table named by anything else."""

from __future__ import annotations

import pytest

from django_smartcache.core.context import computing, uncaptured
from django_smartcache.invalidation import capture
from django_smartcache.invalidation.sqlreads import analyse_read

P, C, T = "testapp.product", "testapp.category", "testapp.tag"
PT = "testapp.product_tags"


def rows(*pks: int) -> set[str]:
    return {*(f"r:{P}:{pk}" for pk in pks), f"p:{P}", f"i:{P}"}


def model(*labels: str) -> set[str]:
    return {f"m:{label}" for label in labels}


CASES = [
    # Django's own SQL for get(pk=...), pk__in, values_list by pk, select_for_update
    (
        'SELECT "testapp_product"."id", "testapp_product"."name" FROM "testapp_product" '
        'WHERE "testapp_product"."id" = %s LIMIT 21',
        [3],
        rows(3),
    ),
    (
        'SELECT "testapp_product"."price" AS "price" FROM "testapp_product" '
        'WHERE "testapp_product"."id" IN (%s, %s) ORDER BY "testapp_product"."name" ASC',
        [3, 4],
        rows(3, 4),
    ),
    ("SELECT * FROM testapp_product WHERE id = %s FOR UPDATE", [3], rows(3)),
    ("SELECT p.name FROM testapp_product AS p WHERE p.id = %s", [3], rows(3)),
    # not by pk only: the model
    (
        'SELECT 1 AS "a" FROM "testapp_product" WHERE "testapp_product"."id" = %s LIMIT 1',
        [3],
        model(P),
    ),
    (
        'SELECT COUNT(*) AS "__count" FROM "testapp_product" WHERE "testapp_product"."id" = %s',
        [3],
        model(P),
    ),
    ("SELECT * FROM testapp_product WHERE slug = %s", ["x"], model(P)),
    ("SELECT * FROM testapp_product WHERE id = %s AND price > 0", [3], model(P)),
    ("SELECT * FROM testapp_product WHERE id = %s LIMIT %s", [3, 1], model(P)),
    ("SELECT * FROM testapp_product WHERE other.id = %s", [3], model(P)),
    ("SELECT DISTINCT name FROM testapp_product WHERE id = %s", [3], model(P)),
    (
        "SELECT * FROM testapp_product WHERE id = %s UNION SELECT * FROM testapp_product",
        [3],
        model(P),
    ),
    (
        "SELECT * FROM testapp_product WHERE id IN (SELECT product_id FROM testapp_product_tags)",
        None,
        model(P, PT),
    ),
    (
        'SELECT "testapp_product"."id" FROM "testapp_product" INNER JOIN "testapp_category" '
        'ON ("testapp_product"."category_id" = "testapp_category"."id") '
        'WHERE "testapp_product"."id" = %s',
        [3],
        model(P, C),
    ),
    (
        "SELECT * FROM testapp_product, testapp_category WHERE testapp_product.id = %s",
        [3],
        model(P, C),
    ),
    # a value that is no pk: the model
    ("SELECT * FROM testapp_product WHERE id = %s", ["not a number"], model(P)),
    # a comment or a string that hides a placeholder the driver fills anyway
    ("SELECT * FROM testapp_product WHERE id = %s /* %s */", [3, 4], model(P)),
    ("SELECT * FROM testapp_product WHERE id = %s -- testapp_tag", [3], rows(3) | model(T)),
    # reads Django's connection runs that are not SELECTs: every table named
    ("WITH x AS (SELECT * FROM testapp_tag) SELECT * FROM x", None, model(T)),
    ("select name from TestApp_Category", None, model(C)),
    # untracked (content types) and unknown tables: nothing
    ("SELECT * FROM django_content_type", None, set()),
    ("SELECT * FROM no_such_table WHERE id = %s", [1], set()),
]


@pytest.mark.parametrize("vendor", ["sqlite", "mysql", "postgresql"])
@pytest.mark.parametrize(("sql", "params", "expected"), CASES)
def test_read_tags(sql, params, expected, vendor, db):
    if vendor == "mysql":
        sql = sql.replace('"', "`")
    assert set(capture.read_tags(sql, params, vendor)) == expected


def test_a_string_pk_is_read_model_wide(db):
    """MySQL compares string pks case- and space-insensitively: not an exact row."""
    sql = "SELECT * FROM testapp_sku WHERE code = %s"
    assert analyse_read(sql, "mysql").pk_column == "code"
    assert capture.read_tags(sql, ["ab"], "mysql") == ["m:testapp.sku"]


def test_queries_are_captured_only_inside_a_computation_and_outside_uncaptured(db):
    from tests.testapp.models import Category, Tag

    with computing() as frame:
        list(Tag.objects.all())
        with uncaptured():
            list(Category.objects.all())
    assert set(frame.tags) == model(T) and frame.captured == {T}
    list(Category.objects.all())  # no frame: nothing to record on, nothing raised
