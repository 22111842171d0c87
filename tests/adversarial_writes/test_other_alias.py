"""Writes through DATABASES["other"]: entries computed from that database go stale when
*its* transaction commits, whatever the default connection is doing."""

from __future__ import annotations

import pytest
from django.db import transaction

from django_smartcache import cached
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@cached(60, depends_on=[Product])
def other_prices():
    return [str(p.price) for p in Product.objects.using("other").order_by("pk")]


def _setup():
    category = Category.objects.using("other").create(name="C", slug="c")
    return Product.objects.using("other").create(name="L", slug="l", price=1, category=category)


@pytest.mark.parametrize(
    "how", ["autocommit", "atomic_other", "atomic_default_outer", "save_using", "manual_other"]
)
def test_write_through_other_alias(how):
    row = _setup()
    assert other_prices() == other_prices() == ["1.00"]
    qs = Product.objects.using("other").filter(pk=row.pk)
    if how == "autocommit":
        qs.update(price=7)
    elif how == "atomic_other":
        with transaction.atomic(using="other"):
            qs.update(price=7)
    elif how == "atomic_default_outer":
        with transaction.atomic():  # the default's transaction stays open: other committed
            qs.update(price=7)
            assert other_prices() == ["7.00"], "other's autocommit write read stale"
    elif how == "save_using":
        row.price = 7
        row.save(using="other")
    else:
        transaction.set_autocommit(False, using="other")
        try:
            qs.update(price=7)
            transaction.commit(using="other")
        finally:
            transaction.set_autocommit(True, using="other")
    assert other_prices() == ["7.00"]
