"""Table names spelled the way the database reads them but the classifier does not.

SQLite takes a string literal where a table name is expected ('t', main.'t');
PostgreSQL reads U&"..." identifiers with Unicode escapes. Each is a valid write to
testapp_product through Django's cursor; the guarantee is that every dependent
entry is stale afterwards.
"""

from __future__ import annotations

import pytest

from tests.adversarial_writes.common import VENDOR, assert_fresh, run, shop, warm  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

SQLITE = {
    "control_plain_name": "UPDATE testapp_product SET price = 7 WHERE id = %s",
    "update_string_table": "UPDATE 'testapp_product' SET price = 7 WHERE id = %s",
    "update_schema_string_table": "UPDATE main.'testapp_product' SET price = 7 WHERE id = %s",
    "delete_string_table": "DELETE FROM 'testapp_product' WHERE id = %s",
}
POSTGRES = {
    "control_plain_name": "UPDATE testapp_product SET price = 7 WHERE id = %s",
    # \005f is "_": PostgreSQL reads testapp_product.
    "update_unicode_escape": 'UPDATE U&"testapp\\005fproduct" SET price = 7 WHERE id = %s',
    "update_unicode_uescape": (
        "UPDATE U&\"testapp!005fproduct\" UESCAPE '!' SET price = 7 WHERE id = %s"
    ),
    "delete_unicode_escape": 'DELETE FROM U&"testapp\\005fproduct" WHERE id = %s',
}


@pytest.mark.parametrize("form", list(SQLITE) if VENDOR == "sqlite" else [])
def test_sqlite_string_literal_table_name(shop, form):  # noqa: F811
    warm(shop)
    run(SQLITE[form], [shop["laptop"].pk])
    assert_fresh(shop, form)


@pytest.mark.parametrize("form", list(POSTGRES) if VENDOR == "postgresql" else [])
def test_postgresql_unicode_escaped_identifier(shop, form):  # noqa: F811
    warm(shop)
    run(POSTGRES[form], [shop["laptop"].pk])
    assert_fresh(shop, form)


if VENDOR != "sqlite":  # SQLite reads a string literal as a table name
    del test_sqlite_string_literal_table_name
if VENDOR != "postgresql":  # U&"..." identifiers are PostgreSQL syntax
    del test_postgresql_unicode_escaped_identifier
