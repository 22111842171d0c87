"""Concurrency stress test against real MariaDB and Redis: no stale read after a commit.

Writer threads each own one product and commit increasing prices through every write
path (save, update, bulk_update, raw SQL, a transaction). Reader threads request the
cached pages and call the cached functions. A reader notes, before each request, the
last price each writer has committed; any response showing a lower price is a violation.
Bounded by SMARTCACHE_STRESS_SECONDS (default 10).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client

from tests import funcs
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS, READERS = 4, 4
SECONDS = float(os.environ.get("SMARTCACHE_STRESS_SECONDS", "10"))
PRICE = re.compile(rb"P(\d)=(\d+)\.00")


def _raw_update(product: Product, price: int) -> None:
    table = connection.ops.quote_name(Product._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET price = %s WHERE id = %s", [price, product.pk])


def _save(product: Product, price: int) -> None:
    product.price = Decimal(price)
    product.save(update_fields=["price"])


def _in_transaction(product: Product, price: int) -> None:
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=price - 1)
        _save(product, price)


PATHS = [
    _save,
    lambda p, v: Product.objects.filter(pk=p.pk).update(price=v),
    lambda p, v: Product.objects.filter(slug=p.slug).update(price=v),
    lambda p, v: Product.objects.bulk_update([Product(pk=p.pk, price=v)], ["price"]),
    _raw_update,
    _in_transaction,
]


def test_no_response_is_older_than_the_last_commit(real_redis, real_database):
    category = Category.objects.create(name="C", slug="c")
    products = [
        Product.objects.create(name=f"P{i}", slug=f"p{i}", price=1, category=category)
        for i in range(WRITERS)
    ]
    committed = [1] * WRITERS
    counts: Counter[str] = Counter()
    violations: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def writer(i: int) -> None:
        product, price = products[i], 1
        try:
            while time.monotonic() < deadline:
                price += 2
                PATHS[price % len(PATHS)](product, price)
                with lock:
                    committed[i] = price
                    counts["commits"] += 1
        finally:
            connection.close()

    def check(seen: dict[int, int], floor: list[int], what: str) -> None:
        for i, value in seen.items():
            if value < floor[i]:
                violations.append(f"{what}: P{i}={value} after {floor[i]} was committed")

    def reader(n: int) -> None:
        client = Client()
        step = n
        try:
            while time.monotonic() < deadline:
                step += 1
                i = step % WRITERS
                with lock:
                    floor = list(committed)
                kind = step % 4
                if kind == 0:
                    response = client.get("/catalog/")
                    seen = {int(a): int(b) for a, b in PRICE.findall(response.content)}
                    counts[response["X-Smartcache"]] += 1
                elif kind == 1:
                    response = client.get(f"/products/p{i}/")
                    seen = {int(a): int(b) for a, b in PRICE.findall(response.content)}
                    counts[response["X-Smartcache"]] += 1
                elif kind == 2:
                    seen = {i: int(Decimal(funcs.product_price(f"p{i}")))}
                else:
                    seen = {int(name[1]): int(Decimal(p)) for name, p in funcs.price_list()}
                counts["requests"] += 1
                check(seen, floor, ["catalog", "detail", "product_price", "price_list"][kind])
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 30)
    print(
        f"\nstress {SECONDS:.0f}s: requests={counts['requests']} hits={counts['HIT']} "
        f"misses={counts['MISS']} bypass={counts['BYPASS']} commits={counts['commits']} "
        f"violations={len(violations)}"
    )
    assert not any(thread.is_alive() for thread in threads)
    assert violations == [], violations[:10]
    assert counts["commits"] > 0 and counts["HIT"] > 0 and counts["MISS"] > 0
