"""The bump runs as an on_commit callback (or after the statement in autocommit), so
anything that runs between the commit and that callback sees the old entries, and a
callback that fails before it stops it altogether."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from tests.adversarial_writes.common import (  # noqa: F401
    Product,
    assert_fresh,
    prices,
    row_price,
    shop,
    warm,
)

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def _fail():
    raise Boom("an application's on_commit callback failed")


@pytest.mark.parametrize("write", ["queryset_update", "save"])
def test_failing_earlier_on_commit_callback_drops_the_bump(shop, write):  # noqa: F811
    """Django stops running a commit's callbacks at the first non-robust one that raises;
    the library's bump, registered later, never runs. The data is committed."""
    warm(shop)
    laptop = shop["laptop"]
    with pytest.raises(Boom), transaction.atomic():
        transaction.on_commit(_fail)  # e.g. send a mail, enqueue a task
        if write == "save":
            laptop.price = Decimal("9")
            laptop.save()
        else:
            Product.objects.filter(slug="laptop").update(price=9)
    assert Product.objects.get(pk=laptop.pk).price == Decimal("9.00")  # committed
    assert_fresh(shop, f"after commit, {write}")


def test_on_commit_callback_registered_before_the_write_reads_after_commit(shop):  # noqa: F811
    """A callback registered before the write runs after the commit but before the bump:
    it reads the committed data's cache entries, which are still the old ones."""
    warm(shop)
    seen = {}

    def after_commit():
        seen["row"] = row_price(shop["laptop"].pk)
        seen["model"] = prices()["laptop"]

    with transaction.atomic():
        transaction.on_commit(after_commit)
        Product.objects.filter(pk=shop["laptop"].pk).update(price=9)
    assert Product.objects.get(pk=shop["laptop"].pk).price == Decimal("9.00")
    assert seen == {"row": Decimal("9.00"), "model": "9.00"}, "read after commit was stale"
