"""What the statistics say about dependencies and invalidations (issue 16, the admin part).

How each cached view or function came to depend on a model (declared, found at run time,
captured from its queries); which tags' change made a read find an entry invalid, counted
per view or function and per model; the ten-minute buckets that make "in the last hour"
real; and the warning for an entry invalidated more often than it was served, on the
admin's Smart cache page and in ``manage.py smartcache stats``.
"""

from __future__ import annotations

import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from django_smartcache import invalidate
from django_smartcache.core import stats
from django_smartcache.frontends.functions import cache_aside
from django_smartcache.operations import overview
from django_smartcache.stores.factory import get_store
from tests import funcs
from tests.admin_users import make_user
from tests.helpers import status
from tests.test_admin import PAGE, logged_in
from tests.testapp.models import Product

pytestmark = pytest.mark.django_db

FILTERED = "tests.capture_views.filtered"  # a bare @cache_page(60): reads every product
PRODUCT = "testapp.product"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a write as a committed one: its invalidations are applied."""

    def run(write) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            write()

    return run


def reprice(product: Product, commit) -> None:
    product.price += Decimal("1")
    commit(product.save)


def entry(name: str) -> overview.EntryRow:
    return next(e for e in overview.collect().entries if e.name == name)


def churn_filtered(client, shop, commit, times: int = 3, hits: int = 0) -> str:
    """Fill the page, then ``times`` times: a committed write to what it read, a read
    (a miss that replaces the invalidated entry) and ``hits`` more reads."""
    url = f"/capture/filter/{shop['laptop'].pk}/"
    assert status(client.get(url)) == "MISS"
    for _ in range(times):
        reprice(shop["phone"], commit)
        assert status(client.get(url)) == "MISS", "a write to what it read makes it stale"
        for _ in range(hits):
            assert status(client.get(url)) == "HIT"
    return url


# --------------------------------------------------------------------------- how it depends


def test_a_model_read_in_its_queries_is_counted_as_captured(client, shop):
    client.get(f"/capture/filter/{shop['laptop'].pk}/")
    stats.flush()
    shared = get_store().read_stats([])
    assert shared[f"view|{FILTERED}|cap:{PRODUCT}"] == 1
    assert f"view|{FILTERED}|dep:{PRODUCT}" not in shared, "captured is not depend_on()"


def test_each_dependant_says_how_it_depends(client, shop):
    client.get("/catalog/")  # declared Product, and its query reads it too
    client.get("/products/laptop/")  # reads uncaptured, then depend_on(product)
    client.get(f"/capture/filter/{shop['laptop'].pk}/")  # declares nothing
    product = next(r for r in overview.collect().models if r.label == PRODUCT)
    how = {d.name: d.how for d in product.dependants}
    assert how["tests.views.catalog"] == ("declared", "captured from its queries")
    assert how["tests.views.product_detail"] == ("found at run time",)
    assert how[FILTERED] == ("captured from its queries",)
    assert how["tests.views.locmem_catalog"] == ("declared",)  # never run


# --------------------------------------------------------------------------- what changed


def test_a_read_of_an_invalidated_entry_names_the_tags_that_changed(shop):
    store, tags = get_store(), ["m:testapp.product", "t:homepage", "g"]
    assert cache_aside(None, "changed", tags, lambda: 1, 60) == 1
    assert store.read("changed", tags, lock_token=None, want_tags=False).changed == ()
    store.bump(["m:testapp.product", "t:homepage"])
    found = store.read("changed", tags, lock_token=None, want_tags=False)
    assert found.state == "miss"
    assert set(found.changed) == {"m:testapp.product", "t:homepage"}


def test_naming_the_changed_tags_costs_no_round_trip(shop, redis_commands):
    tags = ["m:testapp.product", "g"]
    cache_aside(None, "changed", tags, lambda: 1, 60)
    get_store().bump(["m:testapp.product"])
    redis_commands.reset()
    found = get_store().read("changed", tags, lock_token="x", want_tags=False)
    assert found.changed == ("m:testapp.product",)
    assert redis_commands.count == 2, redis_commands.commands  # the read, the lock: as before


def test_each_recompute_of_an_invalidated_entry_is_counted_with_its_model(client, shop, commit):
    churn_filtered(client, shop, commit, times=2, hits=1)
    stats.flush()
    shared = get_store().read_stats([])
    assert shared[f"view|{FILTERED}|INVALIDATED"] == 2
    assert shared[f"view|{FILTERED}|inv:{PRODUCT}"] == 2  # r:/m:/p:/i: all name the model
    assert entry(FILTERED).invalidated == 2
    assert entry(FILTERED).miss == 3, "the first fill is a miss, not an invalidation"


def test_a_row_dependency_found_at_run_time_names_its_model(shop, commit):
    assert funcs.product_price("laptop") == str(shop["laptop"].price)
    reprice(shop["laptop"], commit)
    funcs.product_price("laptop")
    stats.flush()
    shared = get_store().read_stats([])
    assert shared["function|tests.funcs.product_price|inv:testapp.product"] == 1


def test_custom_tags_and_purges_of_everything_are_named(client, shop):
    client.get("/home/")
    invalidate("homepage")
    client.get("/home/")
    from django_smartcache import invalidate_all

    invalidate_all()
    client.get("/home/")
    stats.flush()
    shared = get_store().read_stats([])
    assert shared["view|tests.views.home|inv:t:homepage"] == 1
    assert shared["view|tests.views.home|inv:g"] == 1
    assert shared["view|tests.views.home|INVALIDATED"] == 2


def test_an_entry_that_aged_out_or_was_deleted_names_no_change(shop):
    store, tags = get_store(), ["m:testapp.product", "g"]
    cache_aside(None, "aged", tags, lambda: 1, 0.05)
    time.sleep(0.1)
    found = store.read("aged", tags, lock_token=None, want_tags=False)
    assert (found.state, found.changed) == ("stale", ())
    store.delete("aged")
    assert store.read("aged", tags, lock_token=None, want_tags=False).changed == ()


# --------------------------------------------------------------------------- time buckets


@pytest.mark.parametrize("alias", ["default", "locmem"])
def test_recent_counters_are_summed_over_the_last_hour_only(alias, shop):
    store, now = get_store(alias), stats.bucket()
    field = "view|v|HIT"
    keep = (stats.WINDOW_BUCKETS + 1) * stats.BUCKET_SECONDS
    store.add_stats({field: 1}, {field: 1}, now, keep)
    store.add_stats({field: 2}, {field: 2}, now - 5, keep)  # 50 minutes ago: in the window
    store.add_stats({field: 4}, {field: 4}, now - 6, keep)  # an hour ago: out of it
    assert store.read_recent(stats.window(), [field]) == {field: 3}
    assert store.read_stats([field]) == {field: 7}


def test_a_bucket_expires_after_the_window(shop):
    store = get_store()
    if not hasattr(store, "bucket_key"):
        pytest.skip("the portable store expires through the cache's timeout")
    store.add_stats({"view|v|HIT": 1}, {"view|v|HIT": 1}, stats.bucket(), 4200)
    key = store.bucket_key(stats.bucket())
    if hasattr(store, "tag_slot"):  # a cluster: bookkeeping stays in the tag slot
        assert store._cluster.keyslot(key) == store.tag_slot
        ttl = store._exchange((store.tag_slot, [("TTL", key)]))[0][0]
    else:
        ttl = store._client.get_client(write=True).ttl(key)
    assert 4100 < ttl <= 4200


def test_the_flush_writes_the_bucket_in_the_same_round_trip(client, shop, redis_commands):
    client.get("/catalog/")
    redis_commands.reset()
    stats.flush()
    assert redis_commands.count == 1, redis_commands.commands
    recent = get_store().read_recent(stats.window(), [])
    assert recent["view|tests.views.catalog|MISS"] == 1
    assert not any("|dep:" in f or "|cap:" in f for f in recent), "buckets keep events only"


def test_what_happened_over_an_hour_ago_is_not_flagged(client, shop, commit, monkeypatch):
    churn_filtered(client, shop, commit, times=4)
    real = stats.bucket
    with monkeypatch.context() as patch:
        patch.setattr(stats, "bucket", lambda when=None: real(time.time() - 3 * 3600))
        stats.flush()
    row = entry(FILTERED)
    assert row.invalidated == 4 and row.churn is None


# --------------------------------------------------------------------------- the warning


def test_admin_flags_a_page_invalidated_more_often_than_served(client, shop, commit):
    churn_filtered(client, shop, commit, times=3, hits=0)
    browser = logged_in(make_user("root", purge=True, superuser=True))
    response = browser.get(PAGE)
    flagged = {e.name: e.churn for e in response.context["overview"].churning}
    assert set(flagged) == {FILTERED}
    churn = flagged[FILTERED]
    assert (churn.invalidated, churn.served, churn.source) == (3, 0, PRODUCT)
    assert churn.message == (
        "invalidated 3 times, served 0 times in the last hour, "
        "mostly by writes to products (testapp.product)"
    )
    assert "AUTO_DEPENDENCIES_EXCLUDE" in churn.hint and "uncaptured()" in churn.hint
    html = response.content.decode()
    assert 'id="smartcache-churn"' in html
    assert f'<tr class="warning" data-name="{FILTERED}" data-source="{PRODUCT}">' in html
    assert "Invalidated 3 times, served 0 times</strong> in the last hour" in html
    assert "mostly by writes to products (testapp.product)." in html


def test_staff_without_the_purge_permission_see_no_warning(client, shop, commit):
    churn_filtered(client, shop, commit, times=3)
    staff = logged_in(make_user("staff", purge=False))
    assert staff.get(PAGE).status_code == 403
    assert PAGE not in staff.get("/admin/").content.decode()


def test_an_entry_served_more_often_than_invalidated_is_not_flagged(client, shop, commit):
    churn_filtered(client, shop, commit, times=3, hits=2)
    browser = logged_in(make_user("root", purge=True, superuser=True))
    response = browser.get(PAGE)
    assert response.context["overview"].churning == []
    assert 'id="smartcache-churn"' not in response.content.decode()
    assert entry(FILTERED).invalidated == 3


def test_a_few_invalidations_are_not_worth_a_warning(client, shop, commit):
    churn_filtered(client, shop, commit, times=2)
    assert entry(FILTERED).churn is None


def test_a_declared_model_gets_a_hint_to_declare_less(shop, commit):
    for _ in range(3):
        funcs.price_list()  # depends_on=[Product]
        reprice(shop["laptop"], commit)
    funcs.price_list()
    churn = entry("tests.funcs.price_list").churn
    assert churn is not None and churn.source == PRODUCT
    assert "narrower dependency" in churn.hint and "AUTO_DEPENDENCIES_EXCLUDE" not in churn.hint
    assert "a smaller function" in churn.hint


def test_a_custom_tag_is_named_as_the_cause(client, shop):
    client.get("/home/")
    for _ in range(3):
        invalidate("homepage")
        client.get("/home/")
    churn = entry("tests.views.home").churn
    assert churn is not None
    assert churn.message.endswith("mostly by invalidations of the tag 'homepage'")


def test_the_command_prints_the_warning(client, shop, commit):
    churn_filtered(client, shop, commit, times=3)
    out = StringIO()
    call_command("smartcache", "stats", stdout=out)
    text = out.getvalue()
    assert "Invalidated more often than served" in text
    assert (
        f"{FILTERED} (view): invalidated 3 times, served 0 times in the last hour, "
        "mostly by writes to products (testapp.product)."
    ) in text
    assert "AUTO_DEPENDENCIES_EXCLUDE" in text
    line = next(ln.split() for ln in text.splitlines() if ln.strip().startswith(FILTERED + " "))
    assert line[3:8] == ["0", "4", "0", "0", "3"]  # hits, misses, stale, bypass, invalidated
