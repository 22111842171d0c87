"""The SQL watcher's statement analysis (``sqlwrites``) and the tags it leads to.

Hand-written cases per vendor (the forms each database accepts, with the exact tags
expected), the cheap read path, long bulk statements, and the same tricky forms run
against the database under test. The property-based variants are in
``test_sql_classifier_props.py``.
"""

from __future__ import annotations

import pytest
from django.db import connection

from django_smartcache.invalidation import sqltokens, sqlwrites
from django_smartcache.invalidation.dbwrites import written_tags
from tests.helpers import status
from tests.testapp.models import Category, Product

P, C, T, PT = "testapp.product", "testapp.category", "testapp.tag", "testapp.product_tags"


def model_level(*labels: str) -> set[str]:
    return {f"m:{label}" for label in labels}


def new(*labels: str) -> set[str]:
    """Tags of new rows: model-level, and the insert tags (a captured read by pk may have
    found no row where one is created now)."""
    return model_level(*labels) | {f"i:{label}" for label in labels}


def purge(*labels: str) -> set[str]:
    """Tags of a model-wide change: model-level and row-level entries. A write to the
    product-tag through table says nothing of which rows it links: both sides purge."""
    if PT in labels:
        labels = (*labels, P, T)
    return model_level(*labels) | {f"p:{label}" for label in labels}


def rows(label: str, *pks: int) -> set[str]:
    return model_level(label) | {f"r:{label}:{pk}" for pk in pks}


NONE: set[str] = set()

COMMON = [
    ("-- note\nUPDATE testapp_product SET price = %s WHERE id = %s", [5, 3], rows(P, 3)),
    (
        'UPDATE "testapp_product" SET "price" = CASE WHEN ("testapp_product"."id" = %s) '
        'THEN %s ELSE NULL END WHERE "testapp_product"."id" IN (%s, %s)',
        [1, 5, 1, 2],
        rows(P, 1, 2),
    ),
    ("/* a */ DELETE /* b */ FROM testapp_product /* c */ WHERE id IN (%s) -- d", [4], rows(P, 4)),
    ("update TestApp_Product set price=1 where ID=%s", [7], rows(P, 7)),
    ("UPDATE testapp_product AS p SET price = 1 WHERE p.id = %s", [7], rows(P, 7)),
    ("UPDATE testapp_product SET price = 1 WHERE slug = %s", ["x"], purge(P)),
    ("UPDATE testapp_product SET price = 1 WHERE id = %s AND price > 0", [7], purge(P)),
    ("UPDATE testapp_product SET price = 1 WHERE other.id = %s", [7], purge(P)),
    ("UPDATE testapp_product SET price = 1 WHERE id = (SELECT 1)", None, purge(P)),
    # A driver fills %s in comments and strings too: the row values are not the last ones.
    ("UPDATE testapp_product SET price = %s WHERE id = %s /* %s */", [1, 2, 3], purge(P)),
    ("UPDATE testapp_product SET price = %s WHERE id = %s -- why", [1, 2], rows(P, 2)),
    ("DELETE FROM testapp_product", None, purge(P)),
    ('DELETE FROM "testapp_product_tags" WHERE "product_id" IN (%s)', [1], purge(PT)),
    ("WITH x AS (SELECT 1) UPDATE testapp_product SET price = 1 WHERE id = %s", [3], purge(P)),
    ("WITH x AS (SELECT id FROM testapp_tag) DELETE FROM testapp_product", None, purge(P)),
    ("WITH x AS (SELECT 1) INSERT INTO testapp_tag (name) SELECT 'a' FROM x", None, new(T)),
    ("INSERT INTO testapp_product (name) VALUES (%s), (%s)", ["a", "b"], new(P)),
    ("INSERT INTO testapp_tag (name) SELECT name FROM testapp_category", None, new(T)),
    ("SELECT 1; DELETE FROM testapp_tag", None, purge(T)),
    ("UPDATE testapp_tag SET name = %s WHERE id = %s; SELECT 1", ["a", 1], purge(T)),
    ("ALTER TABLE testapp_tag ADD COLUMN x integer", None, purge(T)),
    ("DROP TABLE testapp_tag", None, purge(T)),
    ("CREATE TABLE copy AS SELECT * FROM testapp_product", None, purge(P)),
    ("SELECT * FROM testapp_product", None, NONE),
    ("  (SELECT id FROM testapp_product) UNION (SELECT id FROM testapp_tag)", None, NONE),
    ("WITH x AS (SELECT * FROM testapp_product) SELECT * FROM x", None, NONE),
    ("/* DELETE FROM testapp_tag */ SELECT 1", None, NONE),
    ("SELECT 'x''; DELETE FROM testapp_tag' FROM testapp_tag", None, NONE),
    ("SELECT REPLACE(name, 'a', 'b') FROM testapp_tag FOR UPDATE", None, NONE),
    ("EXPLAIN DELETE FROM testapp_tag", None, NONE),  # explained, not run
    ('SAVEPOINT "s140_x1"', None, NONE),
    ("UPDATE shop_unknown SET a = 1", None, NONE),  # not a model's table
]

SQLITE = [
    ("INSERT OR REPLACE INTO testapp_product (id, name) VALUES (%s, %s)", [1, "a"], purge(P)),
    ("INSERT OR IGNORE INTO testapp_tag (name) VALUES (%s)", ["a"], new(T)),
    ('REPLACE INTO "testapp_category" (id, name) VALUES (%s, %s)', [1, "a"], purge(C)),
    ("UPDATE OR REPLACE testapp_product SET slug = %s WHERE id = %s", ["a", 1], purge(P)),
    ("DELETE FROM [testapp_product] WHERE [id] = %s", [4], rows(P, 4)),
    ("DELETE FROM main.testapp_product WHERE id = %s", [4], rows(P, 4)),
    (
        "UPDATE testapp_product SET price = 0 FROM testapp_category "
        "WHERE testapp_category.id = testapp_product.category_id",
        None,
        purge(P),  # the category is only read
    ),
    (
        "INSERT INTO testapp_tag (name) VALUES (%s) "
        "ON CONFLICT (name) DO UPDATE SET name = excluded.name",
        ["a"],
        purge(T),
    ),
    ("INSERT INTO testapp_tag (name) VALUES (%s) ON CONFLICT DO NOTHING", ["a"], new(T)),
    ('ALTER TABLE "new__testapp_tag" RENAME TO "testapp_tag"', None, purge(T)),
    ("PRAGMA foreign_keys = ON", None, NONE),
    ("SELECT a # b FROM t; DELETE FROM testapp_tag", None, purge(T)),  # '#': not a comment
]

MYSQL = [
    ("#note\nDELETE FROM `testapp_product` WHERE `testapp_product`.`id` = %s", [3], rows(P, 3)),
    ("-- c\nUPDATE `test`.`testapp_product` SET price = 1 WHERE id IN (%s)", [5], rows(P, 5)),
    ("UPDATE LOW_PRIORITY IGNORE testapp_product SET price = 1 WHERE id = %s", [5], rows(P, 5)),
    (
        "UPDATE testapp_product p JOIN testapp_category c ON p.category_id = c.id SET p.price = 0",
        None,
        purge(P, C),
    ),
    (
        "UPDATE testapp_product, testapp_category SET testapp_product.price = 0 "
        "WHERE testapp_category.id = testapp_product.category_id",
        None,
        purge(P, C),
    ),
    (
        "DELETE p, t FROM testapp_product p JOIN testapp_product_tags t ON t.product_id = p.id",
        None,
        purge(P, PT),
    ),
    (
        "DELETE FROM testapp_product_tags USING testapp_product_tags "
        "JOIN testapp_tag ON testapp_tag.id = testapp_product_tags.tag_id",
        None,
        purge(PT),
    ),
    ("DELETE FROM testapp_product WHERE id = %s ORDER BY id LIMIT 1", [3], purge(P)),
    (
        "INSERT INTO testapp_tag (name) VALUES (%s) ON DUPLICATE KEY UPDATE name = VALUES(name)",
        ["a"],
        purge(T),
    ),
    (
        "INSERT INTO testapp_tag (name) VALUES (%s) AS new ON DUPLICATE KEY UPDATE name = new.name",
        ["a"],
        purge(T),
    ),
    ("REPLACE LOW_PRIORITY INTO testapp_tag (id, name) VALUES (%s, %s)", [1, "a"], purge(T)),
    ("REPLACE testapp_tag (name) VALUES (REPLACE('a', 'b', 'c'))", None, purge(T)),
    ("INSERT IGNORE INTO testapp_tag (name) VALUES (%s)", ["a"], new(T)),
    ("TRUNCATE TABLE `testapp_product`", None, purge(P)),
    ("/*!40000 ALTER TABLE `testapp_tag` DISABLE KEYS */", None, purge(T)),
    ("/*!50001 DELETE FROM testapp_tag */", None, purge(T)),
    ("LOAD DATA INFILE 'f' INTO TABLE testapp_tag", None, purge(T)),
    ("ANALYZE UPDATE testapp_tag SET name = ''", None, purge(T)),  # MariaDB runs it
    ("ANALYZE TABLE testapp_tag", None, NONE),
    ("SELECT 1 # ; DELETE FROM testapp_tag", None, NONE),
    ("SELECT 1 -- ; DELETE FROM testapp_tag\n", None, NONE),
    # With NO_BACKSLASH_ESCAPES the string ends at \' and the DELETE runs: either reading.
    ("SELECT 'it\\'s; DELETE FROM testapp_tag'", None, purge(T)),
    ("SET FOREIGN_KEY_CHECKS = 0", None, NONE),
    ("SHOW TABLES", None, NONE),
    ("CALL refresh_prices()", None, NONE),  # stored code is not seen (documented)
]

POSTGRESQL = [
    (
        'WITH moved AS (DELETE FROM "testapp_tag" RETURNING *) '
        'INSERT INTO "testapp_category" (name, slug) SELECT name, name FROM moved',
        None,
        purge(T) | new(C),
    ),
    (
        "WITH w AS (UPDATE testapp_product SET price = 5 WHERE id = %s RETURNING id) "
        "SELECT count(*) FROM w",
        [3],
        purge(P),
    ),
    (
        'UPDATE "public"."testapp_product" SET "price" = %s WHERE "testapp_product"."id" = %s '
        'RETURNING "id"',
        [1, 9],
        rows(P, 9),
    ),
    (
        "UPDATE testapp_product AS p SET price = 0 FROM testapp_category c "
        "WHERE c.id = p.category_id",
        None,
        purge(P),
    ),
    ("DELETE FROM ONLY testapp_product USING testapp_category c WHERE c.id = 1", None, purge(P)),
    (
        "MERGE INTO testapp_tag t USING testapp_category c ON t.name = c.name "
        "WHEN MATCHED THEN UPDATE SET name = c.slug "
        "WHEN NOT MATCHED THEN INSERT (name) VALUES (c.name)",
        None,
        purge(T),
    ),
    ('TRUNCATE testapp_tag, "testapp_category" RESTART IDENTITY', None, purge(T, C)),
    ("TRUNCATE testapp_category CASCADE", None, purge(C, P, PT)),  # and what references it
    ("EXPLAIN ANALYZE DELETE FROM testapp_tag", None, purge(T)),
    ("EXPLAIN (ANALYZE, FORMAT JSON) UPDATE testapp_tag SET name = ''", None, purge(T)),
    (
        'INSERT INTO "testapp_tag" ("name") SELECT * FROM UNNEST((%s)::varchar[]) '
        'RETURNING "testapp_tag"."id"',
        [["a", "b"]],
        new(T),  # Django's bulk_create on PostgreSQL
    ),
    (
        "INSERT INTO testapp_tag (name) VALUES (%s) "
        "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        ["a"],
        purge(T),
    ),
    ("SELECT a # b FROM testapp_tag; DELETE FROM testapp_category", None, purge(C)),
    ("SELECT E'it\\'s'; DELETE FROM testapp_tag", None, purge(T)),
    ("SELECT 'a\\'; DELETE FROM testapp_tag; --'", None, purge(T)),  # standard strings
    ("SELECT $$; DELETE FROM testapp_tag$$", None, NONE),
    ("/* outer /* inner */ SELECT */ DELETE FROM testapp_tag", None, purge(T)),  # nested
    ("DO $$ BEGIN DELETE FROM testapp_tag; END $$", None, purge(T)),
    ("COPY testapp_tag FROM STDIN", None, purge(T)),
    ("LOCK TABLE testapp_tag IN EXCLUSIVE MODE", None, NONE),
]

CASES = [
    pytest.param(vendor, sql, params, expected, id=f"{vendor}-{i}")
    for vendor, cases in [
        ("sqlite", COMMON + SQLITE),
        ("mysql", COMMON + MYSQL),
        ("postgresql", COMMON + POSTGRESQL),
    ]
    for i, (sql, params, expected) in enumerate(cases)
]


@pytest.mark.parametrize("vendor, sql, params, expected", CASES)
def test_statement_tags(vendor, sql, params, expected):
    assert set(written_tags(sql, params, False, vendor)) == expected


@pytest.mark.parametrize("vendor, sql, params, expected", CASES)
def test_unknown_vendor_reads_every_way_so_never_less(vendor, sql, params, expected):
    assert set(written_tags(sql, params, False, None)) >= expected


def test_executemany_rows_come_from_every_parameter_set():
    sql = "UPDATE testapp_product SET price = %s WHERE id = %s"
    assert set(written_tags(sql, [(1, 3), (2, 4)], True, "sqlite")) == rows(P, 3, 4)


def test_values_that_are_not_pks_widen_to_the_model():
    sql = "UPDATE testapp_product SET price = %s WHERE id = %s"
    assert set(written_tags(sql, [5, "not-an-id"], False, "sqlite")) == purge(P)
    assert set(written_tags(sql, {"a": 1}, False, "sqlite")) == purge(P)
    assert set(written_tags(sql, None, False, "sqlite")) == purge(P)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  select 1",
        "-- c\nSELECT 1",
        "/* c */ (SELECT 1)",
        "SAVEPOINT x",
        "RELEASE SAVEPOINT x",
        "SET x = 1",
        "EXPLAIN SELECT 1",
    ],
)
def test_reads_are_decided_without_the_tokenizer(sql):
    assert sqlwrites.is_read(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; DELETE FROM t",
        "WITH x AS (DELETE FROM t RETURNING 1) SELECT 1",
        "/*! DELETE FROM t */ SELECT 1",
        "/* a /* b */ SELECT */ DELETE FROM t",
        "EXPLAIN ANALYZE DELETE FROM t",
        "# c\nSELECT 1",  # '#' is a comment only on MySQL: the tokenizer decides
    ],
)
def test_what_may_write_goes_to_the_tokenizer(sql):
    assert not sqlwrites.is_read(sql)


def test_bulk_statements_are_shortened_and_counted():
    values = ", ".join(["(%s, %s)"] * 4000)
    insert = f'INSERT INTO "testapp_product" ("name", "slug") VALUES {values}'
    arms = " ".join(['WHEN ("testapp_product"."id" = %s) THEN %s'] * 2000)
    update = (
        f'UPDATE "testapp_product" SET "price" = CASE {arms} ELSE NULL END '
        f'WHERE "testapp_product"."id" IN ({", ".join(["%s"] * 2000)})'
    )
    # Lexing 40 kB and 94 kB costs 0.1 to 0.2 s each; what is lexed is under 200 characters.
    assert len(sqltokens.shorten(insert)) < 200 and len(sqltokens.shorten(update)) < 200
    assert sqlwrites.analyse(insert, "mysql") == (sqlwrites.Write("testapp_product", "insert"),)
    found = sqlwrites.analyse(update, "sqlite")
    assert found == (sqlwrites.Write("testapp_product", "rows", "id", 2000),)
    params = list(range(4000)) + list(range(1, 2001))  # CASE arms, then the IN list
    assert set(written_tags(update, params, False, "sqlite")) == rows(P, *range(1, 2001))


def test_analysis_is_memoized_per_statement():
    sql = "UPDATE testapp_tag SET name = %s WHERE name = %s -- memo"
    sqlwrites._memo.cache_clear()
    sqlwrites.analyse(sql, "sqlite")
    sqlwrites.analyse(sql, "sqlite")
    assert sqlwrites._memo.cache_info().hits == 1


# --------------------------------------------------------------------------- live


def _live_cases(vendor: str) -> list:
    laptop = "slug = 'laptop'"
    cases = [
        ("-- note\nUPDATE {t} SET price = 5 WHERE " + laptop, ["all"]),
        ("/* note */ update {t} set price = 5 where slug = %s -- trailing", ["all"]),
        ("UPDATE {t} SET price = 5 WHERE {laptop} /* a comment */", ["all"]),
        (
            "WITH x AS (SELECT id FROM {t} WHERE {laptop}) "
            "UPDATE {t} SET price = 5 WHERE id IN (SELECT id FROM x)",
            ["sqlite", "postgresql"],  # MariaDB has no WITH ... UPDATE
        ),
        (
            "INSERT OR REPLACE INTO {t} (id, name, slug, price, category_id) "
            "VALUES (%s, 'Laptop', 'laptop', 5, %s)",
            ["sqlite"],
        ),
        ("UPDATE OR REPLACE {t} SET price = 5 WHERE {laptop}", ["sqlite"]),
        (
            "UPDATE {t} SET price = 5 FROM {c} WHERE {c}.id = {t}.category_id AND {t}.{laptop}",
            ["sqlite", "postgresql"],
        ),
        ("#note\nUPDATE {t} SET price = 5 WHERE {laptop}", ["mysql"]),
        ("/*!40000 UPDATE {t} SET price = 5 WHERE {laptop} */", ["mysql"]),
        (
            "UPDATE {t} JOIN {c} ON {c}.id = {t}.category_id SET {t}.price = 5 WHERE {t}.{laptop}",
            ["mysql"],
        ),
        (
            "UPDATE {c}, {t} SET {t}.price = 5 WHERE {c}.id = {t}.category_id AND {t}.{laptop}",
            ["mysql"],
        ),
        (
            "INSERT INTO {t} (id, name, slug, price, category_id) "
            "VALUES (%s, 'Laptop', 'laptop', 5, %s) ON DUPLICATE KEY UPDATE price = VALUES(price)",
            ["mysql"],
        ),
        (
            "INSERT INTO {t} (id, name, slug, price, category_id) "
            "VALUES (%s, 'Laptop', 'laptop', 5, %s) ON CONFLICT (id) DO UPDATE SET price = 5",
            ["sqlite", "postgresql"],
        ),
        (
            "WITH w AS (UPDATE {t} SET price = 5 WHERE {laptop} RETURNING id) "
            "SELECT count(*) FROM w",
            ["postgresql"],
        ),
        (
            "MERGE INTO {t} AS p USING (SELECT 'laptop' AS slug) AS s ON p.slug = s.slug "
            "WHEN MATCHED THEN UPDATE SET price = 5",
            ["postgresql"],
        ),
        ("SELECT 1; UPDATE {t} SET price = 5 WHERE {laptop}", ["postgresql"]),
        ("EXPLAIN ANALYZE UPDATE {t} SET price = 5 WHERE {laptop}", ["postgresql"]),
    ]
    return [sql for sql, vendors in cases if "all" in vendors or vendor in vendors]


LIVE = _live_cases(connection.vendor)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sql", LIVE, ids=[f"{connection.vendor}-{i}" for i in range(len(LIVE))])
def test_tricky_raw_writes_invalidate_on_this_database(client, sql):
    category = Category.objects.create(name="C", slug="c")
    laptop = Product.objects.create(name="Laptop", slug="laptop", price=1, category=category)
    client.get("/products/laptop/")
    assert status(client.get("/products/laptop/")) == "HIT"
    quote = connection.ops.quote_name
    text = sql.format(
        t=quote(Product._meta.db_table), c=quote(Category._meta.db_table), laptop="slug = 'laptop'"
    )
    params = {0: None, 1: ["laptop"], 2: [laptop.pk, category.pk]}[text.count("%s")]
    with connection.cursor() as cursor:
        cursor.execute(text, params)
    response = client.get("/products/laptop/")
    assert (status(response), response.content) == ("MISS", b"Laptop=5.00")
