"""Property-based: however a write to a tracked table is spelled, its model is bumped.

Statements are generated from templates of every supported form (UPDATE, DELETE,
INSERT, upserts, REPLACE, MERGE, TRUNCATE, multi-table forms, DDL), wrapped or not in
CTEs (data-modifying ones too), RETURNING, EXPLAIN ANALYZE or a ``;`` batch, and
spelled with random comments (leading, inline, trailing, in the vendor's styles),
keyword case, whitespace, identifier quoting and schema qualification. The model of
the written table must always be in the tags: model-level for inserts, row-level or
model-wide for pk-only writes, model-wide (purge) for everything else. Pure reads,
spelled the same ways and naming the same tables, must produce no tags at all.
"""

from __future__ import annotations

import functools
import os
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from django_smartcache.invalidation.dbwrites import written_tags

# SMARTCACHE_SQL_EXAMPLES=20000 for a longer hunt; no example database is written.
EXAMPLES = int(os.environ.get("SMARTCACHE_SQL_EXAMPLES", "500"))
settings.register_profile("sql-classifier", max_examples=EXAMPLES, deadline=None, database=None)
PROFILE = settings.get_profile("sql-classifier")

TABLES = {
    "testapp_product": "testapp.product",
    "testapp_category": "testapp.category",
    "testapp_tag": "testapp.tag",
    "testapp_product_tags": "testapp.product_tags",
}
VENDORS = ["sqlite", "mysql", "postgresql", None]

# {T}: the written table, {O}: another one. INSERT: new rows, PK: pk-only (params: [1, 7]),
# ALL: the whole model. "<" marks where RETURNING may go (INSERT/UPDATE/DELETE).
WRITES = [
    ("PK", "UPDATE {T} SET name = %s WHERE id = %s <"),
    ("PK", "UPDATE {T} SET name = %s WHERE {T} . id IN ( %s ) <"),
    ("PK", "UPDATE {T} AS x SET name = %s WHERE x . id = %s <"),
    ("PK", "UPDATE LOW_PRIORITY IGNORE {T} SET name = %s WHERE id = %s"),
    ("PK", "DELETE FROM {T} WHERE id = %s <"),
    ("PK", "DELETE FROM ONLY {T} WHERE id IN ( %s , %s ) <"),
    ("PK", "DELETE LOW_PRIORITY QUICK FROM {T} WHERE {T} . id = %s"),
    ("ALL", "UPDATE {T} SET name = %s WHERE name = %s <"),
    ("ALL", "UPDATE {T} SET name = %s WHERE id = %s OR id = %s <"),
    ("ALL", "UPDATE OR REPLACE {T} SET name = %s WHERE id = %s"),
    ("ALL", "UPDATE {T} SET name = {O} . name FROM {O} WHERE {O} . id = {T} . id <"),
    ("ALL", "UPDATE {T} JOIN {O} ON {O} . id = {T} . id SET {T} . name = %s"),
    ("ALL", "UPDATE {O} AS o , {T} AS t SET t . name = o . name WHERE t . id = o . id"),
    ("ALL", "UPDATE {O} LEFT OUTER JOIN {T} USING ( id ) SET name = %s"),
    ("ALL", "DELETE FROM {T} <"),
    ("ALL", "DELETE FROM {T} WHERE id = %s ORDER BY id LIMIT 1"),
    ("ALL", "DELETE FROM {T} USING {O} WHERE {T} . id = {O} . id <"),
    ("ALL", "DELETE {T} FROM {T} JOIN {O} ON {O} . id = {T} . id"),
    ("ALL", "DELETE x , y FROM {O} AS y INNER JOIN {T} AS x ON x . id = y . id"),
    ("ALL", "DELETE FROM {O} , {T} USING {O} JOIN {T} ON {O} . id = {T} . id"),
    ("INSERT", "INSERT INTO {T} ( name ) VALUES ( %s ) <"),
    ("INSERT", "INSERT INTO {T} ( id , name ) VALUES ( %s , %s ) , ( %s , %s ) <"),
    ("INSERT", "INSERT INTO {T} ( name ) SELECT name FROM {O} WHERE id = %s <"),
    ("INSERT", "INSERT IGNORE INTO {T} ( name ) VALUES ( %s )"),
    ("INSERT", "INSERT OR IGNORE INTO {T} ( name ) VALUES ( %s )"),
    ("INSERT", "INSERT INTO {T} ( name ) VALUES ( %s ) ON CONFLICT DO NOTHING <"),
    ("INSERT", "INSERT INTO {T} DEFAULT VALUES <"),
    ("ALL", "INSERT OR REPLACE INTO {T} ( id , name ) VALUES ( %s , %s )"),
    ("ALL", "REPLACE INTO {T} ( id , name ) VALUES ( %s , %s )"),
    ("ALL", "REPLACE {T} ( id , name ) VALUES ( %s , REPLACE ( %s , 'a' , 'b' ) )"),
    ("ALL", "INSERT INTO {T} ( name ) VALUES ( %s ) ON CONFLICT ( name ) DO UPDATE SET a = %s <"),
    ("ALL", "INSERT INTO {T} ( name ) VALUES ( %s ) ON DUPLICATE KEY UPDATE a = VALUES ( a )"),
    ("ALL", "INSERT INTO {T} ( name ) SELECT name FROM {O} ON DUPLICATE KEY UPDATE name = 'x'"),
    (
        "ALL",
        "MERGE INTO {T} AS t USING {O} AS o ON t . id = o . id WHEN MATCHED THEN UPDATE SET "
        "name = o . name WHEN NOT MATCHED THEN INSERT ( name ) VALUES ( o . name )",
    ),
    ("ALL", "TRUNCATE {T}"),
    ("ALL", "TRUNCATE TABLE {O} , {T} RESTART IDENTITY CASCADE"),
    ("ALL", "ALTER TABLE {T} ADD COLUMN x integer"),
    ("ALL", "DROP TABLE IF EXISTS {T}"),
    ("ALL", "CREATE TABLE x AS SELECT * FROM {T}"),
]
# {S} is the statement (its RETURNING slot kept by the wrappers that allow one).
WRAPPERS = [
    "{S}",
    "{S} ;",
    "SELECT 1 ; {S}",
    "{S} ; SELECT 1 ;",
    "WITH c AS ( SELECT id FROM {O} ) {S}",
    "WITH RECURSIVE c ( n ) AS ( SELECT 1 UNION ALL SELECT n + 1 FROM c ) , d AS "
    "MATERIALIZED ( SELECT 2 ) {S}",
]
DML_WRAPPERS = [  # only around INSERT / UPDATE / DELETE (the statements these run)
    "EXPLAIN ANALYZE {S}",
    "EXPLAIN ( ANALYZE , FORMAT JSON ) {S}",
    "ANALYZE FORMAT = JSON {S}",
    "WITH w AS ( {S} RETURNING * ) SELECT * FROM w",
    "WITH w AS ( {S} RETURNING id ) INSERT INTO {O} ( id ) SELECT id FROM w",
    "WITH a AS ( SELECT 1 ) , w AS NOT MATERIALIZED ( {S} RETURNING id ) DELETE FROM {O} "
    "WHERE id IN ( SELECT id FROM w )",
]
READS = [  # "~": a space inside a string literal (no separator goes there)
    "SELECT * FROM {T}",
    "SELECT {T} . id , name FROM {T} JOIN {O} ON {O} . id = {T} . id WHERE {T} . id = %s",
    "SELECT id FROM {T} WHERE id IN ( SELECT id FROM {O} ) FOR NO KEY UPDATE",
    "SELECT id FROM {T} FOR UPDATE ; SELECT 2 ;",
    "WITH c AS ( SELECT id FROM {T} ) SELECT * FROM c , {O}",
    "WITH RECURSIVE c ( n ) AS ( SELECT 1 UNION ALL SELECT n + 1 FROM c ) SELECT * FROM {T} , c",
    "( SELECT id FROM {T} ) UNION ( SELECT id FROM {O} )",
    "SELECT REPLACE ( name , 'a' , 'b' ) , INSERT ( name , 1 , 2 , 'x' ) FROM {T}",
    "SELECT 'DELETE~FROM~testapp_tag~;~UPDATE~testapp_tag~SET~a~=~1' , name FROM {T}",
    "SELECT * FROM {T} WHERE name = 'x''~;~DELETE~FROM~testapp_tag~;~--'",
    "SELECT count ( * ) FROM {T} GROUP BY name ORDER BY 1 DESC LIMIT 5 OFFSET 2",
    "EXPLAIN DELETE FROM {T}",
    "EXPLAIN SELECT * FROM {T}",
    "SAVEPOINT s1",
    "RELEASE SAVEPOINT s1",
    "ROLLBACK TO SAVEPOINT s1",
    "SET x = 1",
    "SHOW TABLES",
    "BEGIN",
    "COMMIT",
]
COMMENT_TEXT = ["note", "DELETE FROM testapp_tag", "; UPDATE testapp_tag SET a = 1", "it's"]
COMMENT_TEXT += ['say "hi"', "SELECT", "WHERE id = %s", "testapp_category", "*", "/", ""]


@functools.cache
def _comments(vendor: str | None) -> st.SearchStrategy[str]:
    styles = ["/* {} */", "-- {}\n"]
    if vendor == "mysql":
        styles += ["#{}\n", "# {}\r\n"]
    if vendor in ("sqlite", "postgresql"):
        styles.append("--{}\n")
    spelled = [style.format(text) for style in styles for text in COMMENT_TEXT]
    return st.sampled_from(spelled)


@functools.cache
def _separators(vendor: str | None) -> st.SearchStrategy[str]:
    blank = st.sampled_from([" ", "  ", "\n", "\t", "\r\n ", " \n\t"])
    commented = st.tuples(blank, _comments(vendor), blank).map("".join)
    return st.one_of(blank, blank, blank, commented)


@functools.cache
def _identifier(vendor: str | None, name: str) -> st.SearchStrategy[str]:
    schema = {"sqlite": "main", "mysql": "test", "postgresql": "public"}.get(vendor, "s")
    quotes = {
        "sqlite": ['"{}"', "[{}]", "`{}`"],
        "mysql": ["`{}`", '"{}"'],
        "postgresql": ['"{}"'],
    }.get(vendor, ['"{}"', "`{}`", "[{}]"])
    bare = [name, name.upper(), name.title(), *(quote.format(name) for quote in quotes)]
    schemas = [schema, quotes[0].format(schema)]
    qualified = [f"{s}.{b}" for s in schemas for b in bare] + [f"{schemas[0]} . {name}"]
    return st.one_of(st.sampled_from(bare), st.sampled_from(qualified))


_CASES = st.sampled_from([str.upper, str.lower, str.title, lambda w: w[:1].lower() + w[1:]])


@st.composite
def _spelled(draw, vendor: str | None, template: str, target: str, other: str) -> str:
    """``template`` with every space a random separator and every piece spelled at random."""
    out: list[str] = []
    if draw(st.booleans()):
        out.append(draw(_comments(vendor)))  # a leading comment
    for i, piece in enumerate(template.split(" ")):
        if i:
            out.append(draw(_separators(vendor)))
        if piece in ("{T}", "{O}"):
            out.append(draw(_identifier(vendor, target if piece == "{T}" else other)))
        elif re.fullmatch(r"[A-Z_]+", piece):
            out.append(draw(_CASES)(piece))
        else:
            out.append(piece.replace("~", " "))
    if draw(st.booleans()):
        out.append(draw(_separators(vendor)) + draw(_comments(vendor)))  # a trailing one
    return "".join(out)


@st.composite
def writes(draw):
    vendor = draw(st.sampled_from(VENDORS))
    target, other = draw(st.permutations(list(TABLES)))[:2]
    kind, statement = draw(st.sampled_from(WRITES))
    dml = statement.split(" ")[0] in ("INSERT", "UPDATE", "DELETE")
    wrapper = draw(st.sampled_from(WRAPPERS + (DML_WRAPPERS if dml else [])))
    returning = "RETURNING id" if "RETURNING" not in wrapper and draw(st.booleans()) else ""
    statement = statement.replace("<", returning).strip()
    template = wrapper.replace("{S}", statement)
    sql = draw(_spelled(vendor, template, target, other))
    return vendor, kind, TABLES[target], sql


@st.composite
def reads(draw):
    vendor = draw(st.sampled_from(VENDORS))
    target, other = draw(st.permutations(list(TABLES)))[:2]
    return vendor, draw(_spelled(vendor, draw(st.sampled_from(READS)), target, other))


@PROFILE
@given(writes())
def test_a_write_to_a_tracked_table_always_bumps_its_model(case):
    vendor, kind, label, sql = case
    params = [1, 7] if "%s" in sql else None
    tags = set(written_tags(sql, params, False, vendor))
    assert f"m:{label}" in tags, sql
    if kind == "PK":
        assert f"p:{label}" in tags or f"r:{label}:7" in tags, sql
    elif kind == "ALL":
        assert f"p:{label}" in tags, sql


@PROFILE
@given(reads())
def test_a_pure_read_bumps_nothing(case):
    vendor, sql = case
    assert written_tags(sql, [1], False, vendor) == [], sql
