"""Tables whose names are words the classifier takes for modifiers.

``UPDATE only SET ...`` (SQLite, MariaDB/MySQL: ONLY is no reserved word there),
``UPDATE ignore SET ...`` (SQLite), ``UPDATE set SET ...`` (PostgreSQL: SET is an
unreserved keyword). Django quotes these names itself; raw SQL need not.
"""

from __future__ import annotations

import pytest
from django.db import connection

from django_smartcache import cached
from django_smartcache.invalidation import dbwrites
from tests.adversarial_writes.common import on
from tests.adversarial_writes.models import Gadget, KwIgnore, KwOnly, KwSet

pytestmark = pytest.mark.django_db(transaction=True)

# (model, raw statement, vendors where the name is valid unquoted)
CASES = {
    "update_only": (KwOnly, "UPDATE only SET v = 5", {"sqlite", "mysql"}),
    "update_only_where_pk": (KwOnly, "UPDATE only SET v = 5 WHERE id = %s", {"sqlite", "mysql"}),
    "delete_from_only": (KwOnly, "DELETE FROM only WHERE id = %s", {"sqlite", "mysql"}),
    "update_ignore": (KwIgnore, "UPDATE ignore SET v = 5 WHERE id = %s", {"sqlite"}),
    "update_set": (KwSet, "UPDATE set SET v = 5 WHERE id = %s", {"postgresql"}),
    # control: an integer pk that is not "id", written by pk: row-precise and right
    "gadget_by_number": (Gadget, "UPDATE adv_gadget SET v = 5 WHERE number = %s", None),
}


def _make(model):
    @cached(60, depends_on=[model], key=lambda: f"adv-kw:{model.__name__}")
    def values():
        return sorted(model.objects.values_list("v", flat=True))

    return values


@pytest.fixture
def table(request):
    model = request.param
    dbwrites._tables = None  # the table map is built once per process, from the models
    with connection.schema_editor() as editor:
        editor.create_model(model)
    try:
        yield model
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(model)
        dbwrites._tables = None


HERE = [c for c in CASES if on(CASES[c][2])]  # a bare name valid on this database


@pytest.mark.parametrize(
    ("table", "case"), [(CASES[c][0], c) for c in HERE], indirect=["table"], ids=HERE
)
def test_write_to_keyword_named_table_invalidates(table, case):
    model, sql, vendors = CASES[case]
    row = model.objects.create(**({"number": 41} if model is Gadget else {}), v=1)
    values = _make(model)
    assert values() == [1]
    assert values() == [1]
    with connection.cursor() as cursor:
        cursor.execute(sql, [row.pk] if "%s" in sql else [])
    now = sorted(model.objects.values_list("v", flat=True))
    assert now != [1]
    assert values() == now, f"{case}: entry on {model.__name__} stale after {sql!r}"
