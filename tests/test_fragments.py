"""``{% smartcache %}``: fragments cached until what they show changes, bubbling outwards."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.conf import settings
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from django_redis import get_redis_connection

from django_smartcache import invalidate
from django_smartcache.core.breaker import breaker
from django_smartcache.invalidation import sending
from tests.helpers import DOWN_CACHE, status
from tests.testapp.models import Product
from tests.views import CALLS, TICKS

pytestmark = pytest.mark.django_db

FRAGMENT_KEYS = "*:sc:e:frag:*"


@pytest.fixture(autouse=True)
def _own_aliases(monkeypatch):
    """Aliases registered by these tests (``using=``) do not leak into other tests' bumps."""
    monkeypatch.setattr(sending, "_extra_aliases", set(sending._extra_aliases))


def render(source: str, **context) -> str:
    return Template("{% load smartcache %}" + source).render(Context({"tick": TICKS, **context}))


def save(product: Product, price: str, capture) -> None:
    """A committed change to one row."""
    with capture(execute=True):
        product.price = Decimal(price)
        product.save()


def fragment_keys(alias: str = "default") -> list[bytes]:
    return list(get_redis_connection(alias).scan_iter(FRAGMENT_KEYS))


# --------------------------------------------------------------------------- caching


def test_fragment_renders_once_then_hits_in_one_round_trip(shop, redis_commands):
    source = "{% smartcache 60 card depends_on p %}{{ tick.card }}{{ p.name }}{% endsmartcache %}"
    first = render(source, p=shop["laptop"])
    redis_commands.reset()
    second = render(source, p=shop["laptop"])
    assert redis_commands.count == 1, redis_commands.commands
    assert first == second == "Laptop"
    assert CALLS["card"] == 1
    assert len(fragment_keys()) == 1


def test_changing_a_row_rerenders_only_its_fragments(
    client, shop, django_capture_on_commit_callbacks
):
    first = client.get("/fragments/cards/").content
    assert client.get("/fragments/cards/").content == first
    assert (CALLS["card:laptop"], CALLS["card:phone"]) == (1, 1)
    save(shop["laptop"], "899.00", django_capture_on_commit_callbacks)
    html = client.get("/fragments/cards/").content.decode()
    assert "Laptop=899.00" in html and "Phone=499.00" in html
    assert (CALLS["card:laptop"], CALLS["card:phone"]) == (2, 1)


@pytest.mark.parametrize(
    ("depends_on", "extra"),
    [
        ("model", {"model": Product}),
        ('"testapp.Product"', {}),
        ("label", {"label": "testapp.Product"}),
        ("view.model", {"view": {"model": Product}}),
        ("models", {"models": [Product]}),
    ],
    ids=["model-class", "label-literal", "label-variable", "class-attribute", "class-list"],
)
def test_model_dependency_goes_stale_on_any_row(
    shop, django_capture_on_commit_callbacks, depends_on, extra
):
    source = (
        f"{{% smartcache 60 all depends_on {depends_on} %}}{{{{ tick.all }}}}{{% endsmartcache %}}"
    )
    render(source, **extra)
    render(source, **extra)
    assert CALLS["all"] == 1
    save(shop["phone"], "1.00", django_capture_on_commit_callbacks)
    render(source, **extra)
    render(source, **extra)
    assert CALLS["all"] == 2
    invalidate(Product)
    render(source, **extra)
    assert CALLS["all"] == 3


def test_custom_tag_dependency(shop):
    source = '{% smartcache 60 promo depends_on "promo" %}{{ tick.promo }}{% endsmartcache %}'
    render(source)
    invalidate("another-tag")
    render(source)
    assert CALLS["promo"] == 1
    invalidate("promo")
    render(source)
    assert CALLS["promo"] == 2


@pytest.mark.parametrize("kind", ["list", "tuple", "queryset"])
def test_list_dependency_stands_for_each_element(shop, django_capture_on_commit_callbacks, kind):
    other = Product.objects.create(
        name="Tablet", slug="tablet", price=Decimal("300.00"), category=shop["category"]
    )
    pair = Product.objects.filter(slug__in=["laptop", "phone"]).order_by("pk")
    deps = {"list": list(pair), "tuple": tuple(pair), "queryset": pair}[kind]
    source = "{% smartcache 60 pair depends_on deps %}{{ tick.pair }}{% endsmartcache %}"
    render(source, deps=deps)
    save(other, "250.00", django_capture_on_commit_callbacks)  # not in the list
    render(source, deps=deps)
    assert CALLS["pair"] == 1
    save(shop["phone"], "450.00", django_capture_on_commit_callbacks)  # the second element
    render(source, deps=deps)
    assert CALLS["pair"] == 2


def test_vary_on_values_get_separate_entries(shop):
    source = "{% smartcache 60 greet who %}{{ tick.greet }}hi {{ who }}{% endsmartcache %}"
    assert [render(source, who=w) for w in ("ann", "bob", "ann", "bob")] == [
        "hi ann",
        "hi bob",
        "hi ann",
        "hi bob",
    ]
    assert CALLS["greet"] == 2
    assert len(fragment_keys()) == 2


def test_vary_on_values_containing_the_separator_never_share_an_entry(shop):
    source = "{% smartcache 60 pair a b %}{{ a }}/{{ b }}{% endsmartcache %}"
    assert render(source, a="x:y", b="z") == "x:y/z"
    assert render(source, a="x", b="y:z") == "x/y:z", "two vary_on sets collided in one key"


def test_rows_never_share_an_entry_without_vary_on(shop):
    source = "{% smartcache 60 card depends_on p %}{{ p.name }}{% endsmartcache %}"
    assert render(source, p=shop["laptop"]) == "Laptop"
    assert render(source, p=shop["phone"]) == "Phone"


def test_using_stores_in_the_other_alias_and_invalidation_reaches_it(
    shop, django_capture_on_commit_callbacks
):
    source = (
        '{% smartcache 60 card depends_on p using="other" %}{{ tick.card }}{{ p.price }}'
        "{% endsmartcache %}"
    )
    render(source, p=shop["laptop"])
    assert render(source, p=shop["laptop"]) == "999.00"
    assert CALLS["card"] == 1
    assert len(fragment_keys("other")) == 1
    assert fragment_keys("default") == []
    save(shop["laptop"], "5.00", django_capture_on_commit_callbacks)
    assert render(source, p=Product.objects.get(slug="laptop")) == "5.00"
    assert CALLS["card"] == 2


def test_using_a_variable_alias(shop):
    source = "{% smartcache 60 x using=where %}{{ tick.x }}{% endsmartcache %}"
    render(source, where="other")
    render(source, where="other")
    assert CALLS["x"] == 1
    assert len(fragment_keys("other")) == 1


@pytest.mark.parametrize(
    ("timeout", "expected"), [("None", 1234), ("t", 1234), ("77", 77), ("t2", 77)]
)
def test_timeout_none_uses_the_default(shop, timeout, expected):
    with override_settings(SMARTCACHE={"TIMEOUT": 1234, "JITTER": 0, "STALE_TTL": 0}):
        render(f"{{% smartcache {timeout} ttl %}}x{{% endsmartcache %}}", t=None, t2="77")
    (key,) = fragment_keys()
    assert expected - 5 < get_redis_connection("default").ttl(key) <= expected


def test_timeout_zero_never_stores(shop):
    source = "{% smartcache 0 zero %}{{ tick.zero }}{% endsmartcache %}"
    render(source)
    render(source)
    assert CALLS["zero"] == 2
    assert fragment_keys() == []


def test_disabled_just_renders(shop):
    source = "{% smartcache 60 off %}{{ tick.off }}{% endsmartcache %}"
    with override_settings(SMARTCACHE={"ENABLED": False}):
        render(source)
        render(source)
    assert CALLS["off"] == 2
    assert fragment_keys() == []


# --------------------------------------------------------------------------- bubbling

NESTED = (
    '{% smartcache 60 outer depends_on "outer-tag" using=outer_alias %}{{ tick.outer }}['
    "{% smartcache 60 inner depends_on p using=inner_alias %}{{ tick.inner }}{{ p.price }}"
    "{% endsmartcache %}]{% endsmartcache %}"
)
# Both on django-redis, both on the portable store (LocMem), and one of each.
ALIASES = pytest.mark.parametrize(
    "aliases",
    [("default", "default"), ("locmem", "locmem"), ("default", "locmem")],
    ids=["redis", "locmem", "mixed"],
)


def render_nested(aliases: tuple[str, str], product: Product) -> str:
    return render(NESTED, p=product, outer_alias=aliases[0], inner_alias=aliases[1])


@ALIASES
def test_inner_change_makes_the_outer_fragment_stale(
    shop, django_capture_on_commit_callbacks, aliases
):
    assert render_nested(aliases, shop["laptop"]) == "[999.00]"
    assert render_nested(aliases, shop["laptop"]) == "[999.00]"
    assert (CALLS["outer"], CALLS["inner"]) == (1, 1)
    save(shop["laptop"], "899.00", django_capture_on_commit_callbacks)
    assert render_nested(aliases, Product.objects.get(slug="laptop")) == "[899.00]"
    assert (CALLS["outer"], CALLS["inner"]) == (2, 2)


@ALIASES
def test_inner_hit_still_bubbles_into_a_recomputed_outer(
    shop, django_capture_on_commit_callbacks, aliases
):
    render_nested(aliases, shop["laptop"])
    invalidate("outer-tag")
    assert render_nested(aliases, shop["laptop"]) == "[999.00]"
    assert (CALLS["outer"], CALLS["inner"]) == (2, 1), "outer recomputed around an inner hit"
    save(shop["laptop"], "899.00", django_capture_on_commit_callbacks)
    assert render_nested(aliases, Product.objects.get(slug="laptop")) == "[899.00]"
    assert (CALLS["outer"], CALLS["inner"]) == (3, 2)


def test_inner_change_makes_the_cached_page_stale(client, shop, django_capture_on_commit_callbacks):
    first = client.get("/fragments/page/laptop/")
    assert status(first) == "MISS"
    client.get("/fragments/page/phone/")
    assert status(client.get("/fragments/page/laptop/")) == "HIT"
    assert (CALLS["fragment_page"], CALLS["outer"], CALLS["inner"]) == (2, 2, 2)
    save(shop["laptop"], "899.00", django_capture_on_commit_callbacks)
    response = client.get("/fragments/page/laptop/")
    assert status(response) == "MISS"
    assert b"<p>Laptop=899.00</p>" in response.content
    assert (CALLS["fragment_page"], CALLS["outer"], CALLS["inner"]) == (3, 3, 3)
    assert status(client.get("/fragments/page/phone/")) == "HIT", "another row's page stays"


def test_page_rebuilt_around_an_inner_hit_still_depends_on_it(
    client, shop, django_capture_on_commit_callbacks
):
    client.get("/fragments/page/laptop/")
    invalidate("page-banner")  # the outer fragment's tag, which bubbled into the page
    assert status(client.get("/fragments/page/laptop/")) == "MISS"
    assert (CALLS["outer"], CALLS["inner"]) == (2, 1), "page and outer rebuilt, inner was a hit"
    save(shop["laptop"], "899.00", django_capture_on_commit_callbacks)
    response = client.get("/fragments/page/laptop/")
    assert status(response) == "MISS"
    assert b"<p>Laptop=899.00</p>" in response.content


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% smartcache %}{% endsmartcache %}", "at least 2 arguments"),
        ("{% smartcache 60 %}{% endsmartcache %}", "at least 2 arguments"),
        ("{% smartcache 60 name depends_on %}{% endsmartcache %}", "no dependency after it"),
        ("{% smartcache 60 depends_on p %}{% endsmartcache %}", "before 'depends_on'"),
        ("{% smartcache 60 n depends_on a depends_on b %}{% endsmartcache %}", "more than once"),
        ("{% smartcache 60 name using= %}{% endsmartcache %}", "without a cache alias"),
        ('{% smartcache 60 n using="other" depends_on p %}{% endsmartcache %}', "only as its last"),
        ("{% smartcache 60 name depends_on=p %}{% endsmartcache %}", "separate word"),
        ("{% smartcache 60 name %}never closed", "endsmartcache"),
    ],
)
def test_bad_arguments_fail_at_compile_time(source, message):
    with pytest.raises(TemplateSyntaxError, match=message):
        Template("{% load smartcache %}" + source)


@pytest.mark.parametrize(
    ("timeout", "message"),
    [("soon", "non-integer timeout value: 'soon'"), (-5, "negative timeout value: -5")],
)
def test_bad_timeout_fails_at_render(shop, timeout, message):
    template = Template("{% load smartcache %}{% smartcache t name %}x{% endsmartcache %}")
    with pytest.raises(TemplateSyntaxError, match=message):
        template.render(Context({"t": timeout}))


def test_unknown_alias_fails_at_render(shop):
    with pytest.raises(TemplateSyntaxError, match="unknown cache alias: 'nope'"):
        render('{% smartcache 60 n using="nope" %}x{% endsmartcache %}')


@pytest.mark.parametrize("bad", [3.5, object(), ""])
def test_bad_dependency_is_a_type_error_naming_the_expression(shop, bad):
    with pytest.raises(TypeError, match="depends_on 'thing'.*is not a model class"):
        render("{% smartcache 60 n depends_on thing %}x{% endsmartcache %}", thing=bad)


DOWN = DOWN_CACHE


def test_broken_cache_still_renders_the_fragment(shop, caplog):
    source = (
        '{% smartcache 60 card depends_on p using="down" %}{{ tick.card }}{{ p.name }}'
        "{% endsmartcache %}"
    )
    with (
        override_settings(CACHES={**settings.CACHES, "down": DOWN}),
        caplog.at_level(logging.ERROR, "django_smartcache"),
    ):
        outputs = [render(source, p=shop["laptop"]) for _ in range(3)]
        failures = breaker("down").failures  # (the override's end forgets breakers)
    assert outputs == ["Laptop"] * 3
    assert CALLS["card"] == 3
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    assert failures == 1, "backed off: the later renders did not try the cache"


def test_broken_default_cache_still_serves_the_page(client, shop):
    with override_settings(CACHES={**settings.CACHES, "default": DOWN}):
        responses = [client.get("/fragments/page/laptop/") for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert all(b"<p>Laptop=999.00</p>" in r.content for r in responses)
    assert CALLS["inner"] == 2


def test_failed_invalidation_is_retried_before_a_fragment_is_served(
    shop, django_capture_on_commit_callbacks
):
    source = "{% smartcache 60 card depends_on p %}{{ tick.card }}{{ p.price }}{% endsmartcache %}"
    render(source, p=shop["laptop"])
    no_backoff = override_settings(SMARTCACHE={"ERROR_BACKOFF": 0})
    with no_backoff, override_settings(CACHES={**settings.CACHES, "default": DOWN}):
        save(shop["laptop"], "5.00", django_capture_on_commit_callbacks)  # the bump fails
    assert sending._pending, "the lost bump is kept"
    with no_backoff:
        assert render(source, p=Product.objects.get(slug="laptop")) == "5.00"
    assert CALLS["card"] == 2
