"""Adversarial pass 4: a pending release (``_releasing``) turns every later bump of the
alias into a release of *all* the tags it sends, not only the released transaction's.

``_bump_alias`` takes ``release = max(release, _releasing[t] for pending t)`` and passes
it to one ``Store.bump`` over ``pending | tags``: a plain bump of a tag the released
transaction never touched ends an open transaction's hold on it (the source comment says
"holds of the same tags"; the docs say only the holding transaction's own bump ends a hold).

Interleaving (one process):
1. /catalog/ (depends on Product and Category) cached at Laptop=999.00.
2. Main thread B (manual transaction) saves the laptop at 5.00: holds m:testapp.product
   (end EB).
3. Thread A (manual transaction on the database "other") saves a *category* there: holds
   m:testapp.category (end EA > EB), commits; its release fails (a blip): pending, with
   ``_releasing[m:testapp.category] = EA``. The cache is back (breaker closed).
4. Thread X, autocommit, saves a product of "other": plain bump of m:testapp.product,
   sent together with the pending category tags and release=EA: B's hold ends, B open.
5. Another process reads /catalog/: MISS, stores Laptop=999.00 (committed data).
6. B: ``commit()`` returns; another process reads /catalog/: HIT Laptop=999.00.

Suggested fix: send the pending released tags in their own ``Store.bump`` (or give
``Store.bump``/bump.lua one release per tag), never one release for the whole batch.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from django_smartcache.invalidation import sending
from django_smartcache.stores.factory import get_store
from tests.adversarial_holds.common import Other, close_breaker, other_shop, save_other
from tests.adversarial_pending.common import (
    as_other_process,
    cached_catalog,
    in_thread,
    manual_transaction,
    save_price,
)
from tests.helpers import status

pytestmark = [pytest.mark.not_on_cluster]


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.usefixtures("clean_outbox")
def test_a_pending_release_ends_a_hold_on_a_tag_it_never_held(shop, monkeypatch):
    from tests.testapp.models import Category

    other_shop()
    cached_catalog()  # 1.
    store = get_store("default")
    real = store.bump
    failed = []

    def bump(tags, hold=0.0, release=0, until=0):
        if release and not failed:
            failed.append(list(tags))
            raise RedisConnectionError("blip")
        return real(tags, hold, release, until)

    monkeypatch.setattr(store, "bump", bump)

    def save_category():
        category = Category.objects.using("other").get(slug="c")
        category.name = "Tablets"
        category.save(using="other")

    with manual_transaction():
        save_price("5.00")  # 2.
        Other(save_category).commit()  # 3.
        assert failed and "m:testapp.product" not in failed[0], failed
        assert sending._releasing.get("default")
        close_breaker("default")
        in_thread(lambda: save_other(3))  # 4.
        filled = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))  # 5.
        transaction.commit()  # 6.
        after = as_other_process(lambda: in_thread(lambda: Client().get("/catalog/")))
    assert b"Laptop=5.00" in after.content, (
        f"{status(after)} {after.content!r} (filled while B held: {status(filled)})"
    )
