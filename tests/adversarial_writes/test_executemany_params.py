"""executemany: parameter sets of mixed pk spellings, and parameters given as an
iterator (DB-API drivers and Django accept any iterable)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.adversarial_writes.common import (  # noqa: F401
    Product,
    assert_fresh,
    run,
    shop,
    table,
    warm,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_executemany_mixed_pk_spellings(shop):  # noqa: F811
    warm(shop)
    laptop, phone = shop["laptop"].pk, shop["phone"].pk
    run(
        f"UPDATE {table()} SET price = %s WHERE id = %s",
        [(7, laptop), (8, str(phone))],
        many=True,
    )
    assert_fresh(shop, "mixed pks")


def test_executemany_with_a_generator_of_parameters_writes_and_invalidates(shop):  # noqa: F811
    warm(shop)
    laptop = shop["laptop"].pk
    params = ((p, pk) for p, pk in [(7, laptop)])
    run(f"UPDATE {table()} SET price = %s WHERE id = %s", params, many=True)
    assert Product.objects.get(pk=laptop).price == Decimal("7.00"), (
        "the write was lost: the parameters were consumed before the driver saw them"
    )
    assert_fresh(shop, "generator params")
