"""Concurrency stress test against real Redis, on every database: no stale read after a commit.

Writer threads each own one product and commit increasing prices, and move its tags up
(add the next tag, then remove the previous one), through every write path (``PATHS``).
Reader threads request the cached pages and call the cached functions (``KINDS``). A reader
notes, before each request, what each writer has last committed (price, lowest and highest
tag); a response showing an older value is a violation. Runs on SQLite (the file database of
tests/settings.py, 20 s busy timeout), MariaDB/MySQL and PostgreSQL, whichever the suite uses.
Bounded by SMARTCACHE_STRESS_SECONDS (default 10).

The second test shows the detector can fail: with one invalidation mechanism disabled (by
``monkeypatch``) and only the write paths that depend on it, it must report violations
(it stops after ``ENOUGH`` of them, or SMARTCACHE_FAULT_SECONDS, default 5, per mechanism).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client

from django_smartcache.invalidation import bumps, capture, dbwrites, signals, tracking
from django_smartcache.stores import factory, scripts
from tests import funcs, stress_views
from tests.testapp.models import Category, Product, Tag
from tests.views import CALLS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("_own_tracking")]

SECONDS = float(os.environ.get("SMARTCACHE_STRESS_SECONDS", "10"))
FAULT_SECONDS = float(os.environ.get("SMARTCACHE_FAULT_SECONDS", "5"))  # at most, per mechanism
ENOUGH = 10  # violations that end a fault-injection run early
READERS = 4
TX_PAUSE = 0.005  # a transaction stays open this long after its writes, before it commits
# "P<i>=<price>", and " [<lowest tag>-<highest tag>]" on the pages that show tags.
SHOWN = re.compile(r"P(\d)=(\d+)\.00(?: \[(?:(\d+)-(\d+))?\])?")
Through = Product.tags.through


@pytest.fixture
def _own_tracking(monkeypatch):
    """The stress views name Tag and the through model at run time, which tracks them for
    the rest of the process (``tracking``): later tests that untrack them must not notice."""
    monkeypatch.setattr(tracking, "_named", set(tracking._named))
    monkeypatch.setattr(tracking, "_decided", {})


def _writer_count() -> int:
    # SQLite takes one write lock for the whole file: more writers only queue up.
    return 3 if connection.vendor == "sqlite" else 4


class Board:
    """What each writer has committed (the floors readers check against), and the counts."""

    def __init__(self, writers: int) -> None:
        self.lock = threading.Lock()
        self.price, self.lo, self.hi = [1] * writers, [0] * writers, [0] * writers
        self.counts: Counter[str] = Counter()
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.seconds = 0.0  # how long the run took

    def note(self, i: int, **values: int) -> None:
        with self.lock:
            for name, value in values.items():
                getattr(self, name)[i] = value

    def floors(self) -> tuple[list[int], list[int], list[int]]:
        with self.lock:
            return list(self.price), list(self.lo), list(self.hi)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n


class Writer:
    """One writer's product; at rest it has exactly one tag, ``tags[tag]``."""

    def __init__(self, i: int, product: Product, tags: list[int], board: Board) -> None:
        self.i, self.product, self.tags, self.board = i, product, tags, board
        self.tag = 0

    def step(self, write: Callable[[], object]) -> None:
        """Run one write (a statement or a transaction), again if the database was busy.

        A write that fails with a lock timeout or a deadlock committed nothing (SQLite's
        "database is locked" when two deferred transactions both want to write, InnoDB's
        and PostgreSQL's deadlock victims), so it is simply run again.
        """
        for attempt in range(20):
            try:
                write()
                return
            except OperationalError as exc:
                text = str(exc).lower()
                if attempt == 19 or not ("locked" in text or "deadlock" in text):
                    raise
                self.board.count("busy retries")
                time.sleep(0.001 * (attempt + 1))


# --------------------------------------------------------------------------- write paths


def _execute(sql: str, params: list) -> None:
    table = connection.ops.quote_name(Product._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), params)


def _save(w: Writer, v: int) -> None:
    w.product.price = Decimal(v)
    w.product.save(update_fields=["price"])


def _upsert(w: Writer, v: int) -> None:
    # MySQL/MariaDB's ON DUPLICATE KEY UPDATE names no conflict target.
    target = {"unique_fields": ["slug"]}
    if not connection.features.supports_update_conflicts_with_target:
        target = {}
    fields = {"name": w.product.name, "slug": w.product.slug, "category_id": w.product.category_id}
    row = Product(price=v, **fields)
    Product.objects.bulk_create([row], update_conflicts=True, update_fields=["price"], **target)


def _atomic(w: Writer, v: int) -> None:
    with transaction.atomic():
        Product.objects.filter(pk=w.product.pk).update(price=v - 1)
        _save(w, v)
        time.sleep(TX_PAUSE)


def _manual(w: Writer, v: int) -> None:
    transaction.set_autocommit(False)
    try:
        Product.objects.filter(pk=w.product.pk).update(price=v - 1)
        _execute("UPDATE {table} SET price = %s WHERE id = %s", [v, w.product.pk])
        time.sleep(TX_PAUSE)
        transaction.commit()
    except BaseException:
        transaction.rollback()
        raise
    finally:
        transaction.set_autocommit(True)


def _price_path(write: Callable[[Writer, int], object]) -> Callable[[Writer, int], None]:
    def path(w: Writer, v: int) -> None:
        w.step(lambda: write(w, v))
        w.board.note(w.i, price=v)

    return path


def _delete_and_recreate(w: Writer, v: int) -> None:
    old = w.product
    w.step(lambda: Product.objects.filter(pk=old.pk).delete())

    def create() -> None:
        fields = {"name": old.name, "slug": old.slug, "category_id": old.category_id}
        w.product = Product.objects.create(price=v, **fields)

    w.step(create)
    w.step(lambda: w.product.tags.add(w.tags[w.tag]))
    w.board.note(w.i, price=v)


def _tag_path(add: Callable, remove: Callable) -> Callable[[Writer, int], bool | None]:
    """Move the product's tag up by one: add the next tag, then remove the current one."""

    def path(w: Writer, v: int) -> bool | None:
        new = w.tag + 1
        if new >= len(w.tags):
            return False  # the pool is used up (a very long run): this path stops here
        w.step(lambda: add(w.product, w.tags[new]))
        w.board.note(w.i, hi=new)
        w.step(lambda: remove(w.product, w.tags[w.tag]))
        w.tag = new
        w.board.note(w.i, lo=new)

    return path


def _cte_supported() -> bool:
    """``WITH ... UPDATE``: SQLite >= 3.8.3, PostgreSQL, MySQL 8; not MariaDB (10.11)."""
    if connection.vendor != "mysql":
        return True
    return not connection.mysql_is_mariadb and connection.mysql_version >= (8,)


# name: path(writer, new price); a path that returns False wrote nothing.
PATHS: dict[str, Callable[[Writer, int], bool | None]] = {
    "save": _price_path(_save),
    "update(pk)": _price_path(lambda w, v: Product.objects.filter(pk=w.product.pk).update(price=v)),
    "update(slug)": _price_path(
        lambda w, v: Product.objects.filter(slug=w.product.slug).update(price=v)
    ),
    "bulk_update": _price_path(
        lambda w, v: Product.objects.bulk_update([Product(pk=w.product.pk, price=v)], ["price"])
    ),
    "upsert": _price_path(_upsert),
    "delete+create": _delete_and_recreate,
    "raw": _price_path(
        lambda w, v: _execute("UPDATE {table} SET price = %s WHERE id = %s", [v, w.product.pk])
    ),
    "raw after comment": _price_path(
        lambda w, v: _execute(
            "-- note\nUPDATE {table} SET price = %s WHERE id = %s", [v, w.product.pk]
        )
    ),
    "cte": _price_path(
        lambda w, v: _execute(
            "WITH new_price AS (SELECT %s AS v) "
            "UPDATE {table} SET price = (SELECT v FROM new_price) WHERE id = %s",
            [v, w.product.pk],
        )
    ),
    "atomic": _price_path(_atomic),
    "manual transaction": _price_path(_manual),
    "m2m add/remove": _tag_path(
        lambda product, tag: product.tags.add(tag), lambda product, tag: product.tags.remove(tag)
    ),
    "through model": _tag_path(
        lambda product, tag: Through.objects.bulk_create(
            [Through(product_id=product.pk, tag_id=tag)]
        ),
        lambda product, tag: Through.objects.filter(product_id=product.pk, tag_id=tag).delete(),
    ),
}


def _paths() -> list[str]:
    """The paths this database supports (the CTE path is left out where it is not)."""
    return [name for name in PATHS if name != "cte" or _cte_supported()]


# --------------------------------------------------------------------------- readers

# What a reader asks for: pages (URL with {slug}) and cached functions.
KINDS = [
    "/catalog/",
    "/products/{slug}/",
    "/stress/catalog/",
    "/stress/products/{slug}/",
    "/stress/bare/catalog/",  # no declared dependency: all captured
    "/stress/bare/products/{slug}/",
    "product_price",
    "price_list",
    "card",
    "bare_card",
]


def _parse(text: str) -> list[tuple[int, int, int | None, int | None]]:
    """(writer, price, lowest tag, highest tag) of each product shown; tags None if not shown."""
    return [
        (int(i), int(price), int(lo) if lo else None, int(hi) if hi else None)
        for i, price, lo, hi in SHOWN.findall(text)
    ]


def _read(kind: str, slug: str, client: Client, board: Board) -> str:
    """One request or call; the text it shows ("" for a product deleted just then)."""
    if kind.startswith("/"):
        response = client.get(kind.format(slug=slug))
        board.count(f"page {response.get('X-Smartcache') or response.status_code}")
        if response.status_code == 404 and "{slug}" in kind:
            return ""  # between a delete and its re-create
        if response.status_code != 200:
            board.errors.append(f"{kind} answered {response.status_code}")
        return response.content.decode()
    board.count("function calls")
    try:
        if kind == "product_price":
            return f"{slug.upper()}={Decimal(funcs.product_price(slug)):.2f}"
        if kind == "price_list":
            return ", ".join(f"{name}={Decimal(p):.2f}" for name, p in funcs.price_list())
        if kind == "bare_card":
            return stress_views.bare_card(slug)
        return stress_views.card(slug)
    except Product.DoesNotExist:
        return ""


def run(
    paths: list[str],
    seconds: float,
    write_pause: float = 0.0,
    kinds: list[str] = KINDS,
    enough: int = 0,
) -> Board:
    """Writers cycle through ``paths`` for ``seconds`` while readers check every response.

    Each writer waits ``write_pause`` seconds after each path; readers cycle through ``kinds``.
    With ``enough``, the run ends early once that many violations were seen.
    """
    writers = _writer_count()
    board = Board(writers)
    category = Category.objects.create(name="C", slug="c")
    pool = max(500, int(seconds * 100))
    Tag.objects.bulk_create([Tag(name=str(k)) for k in range(pool)])
    tags = list(Tag.objects.order_by("pk").values_list("pk", flat=True))
    assert len(tags) == pool and Tag.objects.get(pk=tags[-1]).name == str(pool - 1)
    crew = []
    for i in range(writers):
        product = Product.objects.create(name=f"P{i}", slug=f"p{i}", price=1, category=category)
        product.tags.add(tags[0])
        crew.append(Writer(i, product, tags, board))
    CALLS.clear()
    started = time.monotonic()
    deadline = started + seconds

    def going() -> bool:
        return time.monotonic() < deadline and not (enough and len(board.violations) >= enough)

    def writer(w: Writer) -> None:
        price, k = 1, w.i
        try:
            while going():
                price, k = price + 2, k + 1
                name = paths[k % len(paths)]
                if PATHS[name](w, price) is not False:
                    board.count(f"commits {name}")
                time.sleep(write_pause)
        except BaseException as exc:
            board.errors.append(f"writer {w.i}: {exc!r}")
        finally:
            connection.close()

    def reader(n: int) -> None:
        client, step = Client(), n
        try:
            while going():
                step += 1
                kind = kinds[step % len(kinds)]
                slug = f"p{(step // len(kinds) + n) % writers}"
                price, lo, hi = board.floors()
                shown = _parse(_read(kind, slug, client, board))
                board.count("requests")
                for i, value, low, high in shown:
                    older = [f"price {value} < {price[i]}"] if value < price[i] else []
                    if low is not None and (low < lo[i] or high < hi[i]):
                        older.append(f"tags [{low}-{high}] < [{lo[i]}-{hi[i]}]")
                    if older:
                        with board.lock:
                            board.violations.append(f"{kind} {slug}: P{i} {', '.join(older)}")
        except BaseException as exc:
            board.errors.append(f"reader {n}: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in crew]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    board.seconds = time.monotonic() - started
    board.counts["function runs"] = sum(
        CALLS[name] for name in ("product_price", "price_list", "stress_card", "stress_bare_card")
    )
    return board


def report(title: str, board: Board) -> None:
    counts = board.counts
    commits = {k.removeprefix("commits "): v for k, v in counts.items() if k.startswith("commits")}
    pages = {k.removeprefix("page "): v for k, v in counts.items() if k.startswith("page ")}
    print(
        f"\n{title} on {connection.display_name} ({connection.vendor}), {board.seconds:.1f}s, "
        f"{_writer_count()} writers, {READERS} readers: requests={counts['requests']} "
        f"pages={pages} function calls={counts['function calls']} "
        f"(runs={counts['function runs']}) commits={sum(commits.values())} "
        f"busy retries={counts['busy retries']} violations={len(board.violations)}"
        f"\n  commits per path: {commits}"
    )
    for line in board.violations[:5]:
        print(f"  violation: {line}")


def test_no_response_is_older_than_the_last_commit(real_redis):
    paths = _paths()
    board = run(paths, SECONDS)
    report("stress", board)
    assert board.errors == [], board.errors[:10]
    assert board.violations == [], board.violations[:10]
    counts = board.counts
    assert [name for name in paths if not counts[f"commits {name}"]] == [], "paths never ran"
    assert counts["page HIT"] > 0 and counts["page MISS"] > 0, counts
    # A reader that loses races must still compute with tokens, never trip the breaker.
    assert counts["page BYPASS"] == 0, f"the cache switched itself off under load: {counts}"
    assert 0 < counts["function runs"] < counts["function calls"], counts


# --------------------------------------------------------------------------- fault injection


def _without_execute_wrapper(monkeypatch) -> None:
    """The SQL watcher sees nothing: statements run unwatched."""
    monkeypatch.setattr(
        dbwrites.WriteWatcher,
        "__call__",
        lambda self, execute, sql, params, many, context: execute(sql, params, many, context),
    )


def _bump_before_commit(monkeypatch) -> None:
    """Writes in a transaction bump at once, before their commit, instead of after it."""

    def at_once(tags, using=None) -> None:
        bumps.bump(list(tags))

    monkeypatch.setattr(dbwrites, "bump_on_commit", at_once)
    monkeypatch.setattr(signals, "bump_on_commit", at_once)
    # The early bump is harmful while the transaction is still open: keep it open longer.
    monkeypatch.setattr(sys.modules[__name__], "TX_PAUSE", 0.02)


def _store_unchecked(monkeypatch) -> None:
    """STORE keeps a fill even when a run-time tag was bumped after the fill started."""
    assert scripts.STORE.count("fresh = false") == 2, "STORE changed: update this fault"
    monkeypatch.setattr(scripts, "STORE", scripts.STORE.replace("fresh = false", "fresh = true"))
    # The cluster store's check on the tag node (STAMP) refuses with ``return {0}``.
    assert scripts.STAMP.count("return {0}") == 2, "STAMP changed: update this fault"
    monkeypatch.setattr(scripts, "STAMP", scripts.STAMP.replace("return {0}", ""))
    monkeypatch.setattr(factory, "_stores", {})  # new stores register the patched script
    # A fill is harmed when a write commits between its read and its store: make the
    # stress pages and function take 20 ms there (writers pause, so a bad fill lives on).
    show = stress_views.describe

    def slow_describe(product: Product) -> str:
        time.sleep(0.02)
        return show(product)

    monkeypatch.setattr(stress_views, "describe", slow_describe)


def _without_capture(monkeypatch) -> None:
    """Queries run while an entry is computed are not captured as dependencies."""
    monkeypatch.setattr(capture, "seen", lambda sql, params, vendor: None)


# Not among them: the model-signal receivers. With them disconnected, the execute wrapper
# still sees every statement of save(), delete() and m2m add/remove (checked on all three
# databases: no violation), so the harness cannot tell their absence.
class Fault(NamedTuple):
    disable: Callable  # disables the mechanism, given pytest's monkeypatch
    paths: list[str]  # the write paths that depend on it
    write_pause: float = 0.0
    kinds: list[str] = KINDS


FAULTS = {
    "execute wrapper": Fault(
        _without_execute_wrapper,
        ["update(pk)", "update(slug)", "bulk_update", "raw", "raw after comment", "through model"],
    ),
    "bump on commit": Fault(_bump_before_commit, ["atomic", "manual transaction"]),
    # Readers ask only for entries that declare nothing.
    "dependency capture": Fault(
        _without_capture,
        ["save", "update(pk)", "raw"],
        0.03,
        ["/stress/bare/catalog/", "/stress/bare/products/{slug}/", "bare_card"],
    ),
    # Only entries with run-time (row) dependencies are at risk; readers ask only for those.
    "STORE freshness check": Fault(
        _store_unchecked, ["save", "update(pk)", "raw"], 0.03, ["card", "/stress/products/{slug}/"]
    ),
}


@pytest.mark.parametrize("mechanism", FAULTS)
def test_the_detector_reports_violations_when_a_mechanism_is_disabled(
    real_redis, monkeypatch, mechanism
):
    fault = FAULTS[mechanism]
    fault.disable(monkeypatch)
    board = run(fault.paths, FAULT_SECONDS, fault.write_pause, fault.kinds, enough=ENOUGH)
    report(f"fault: {mechanism} disabled", board)
    assert board.errors == [], board.errors[:10]
    assert board.violations, f"{mechanism} disabled, yet no stale response was seen"
