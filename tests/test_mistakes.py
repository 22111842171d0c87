"""A newcomer's mistakes get a clear error at the line that made them, never an outage."""

from __future__ import annotations

import pytest
from django.core import checks
from django.http import HttpResponse
from django.test import Client, override_settings

from django_smartcache import cache_page, cached, get_cached
from django_smartcache.core.breaker import breaker
from tests.testapp.models import Product


def _view(request):
    return HttpResponse("ok")


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"depends_on": "testapp.Product"}, TypeError, "wrap it: depends_on=['testapp.Product']"),
        ({"depends_on": Product}, TypeError, "wrap it"),
        ({"depends_on": {"a": 1}}, TypeError, "a list or tuple"),
        ({"depends_on": ["shops.Product"]}, ValueError, "no installed app"),
        ({"depends_on": ["testapp.Nope"]}, ValueError, "no model 'Nope'"),
    ],
)
@pytest.mark.parametrize("decorator", ["cache_page", "cached"])
def test_a_bad_dependency_is_refused_when_decorating(decorator, kwargs, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        if decorator == "cache_page":
            cache_page(60, **kwargs)(_view)
        else:
            cached(60, **kwargs)(lambda: 1)


def test_a_custom_tag_with_a_dot_on_purpose_still_works():
    cache_page(60, depends_on=["homepage.v2", "tag:Promo.Summer"])(_view)


@pytest.mark.parametrize(
    ("timeout", "error"),
    [("15m", TypeError), (True, TypeError), (-5, ValueError), (float("nan"), ValueError)],
)
@pytest.mark.parametrize("decorator", [cache_page, lambda t: cached(timeout=t)])
def test_a_bad_timeout_is_refused_when_decorating(decorator, timeout, error):
    with pytest.raises(error, match="timeout"):
        decorator(timeout)


def test_decorating_nothing_is_refused():
    with pytest.raises(TypeError, match="decorates a view function"):
        cache_page(60)(None)
    with pytest.raises(TypeError, match="decorates a function"):
        cached(60)(None)
    with pytest.raises(TypeError, match="key="):
        cached(60, key="fixed")


@pytest.mark.django_db
def test_a_programming_error_in_a_view_is_raised_and_never_taken_for_an_outage(rf):
    @cache_page(60)
    def broken(request):
        return None  # forgot to return a response

    with pytest.raises((TypeError, AttributeError, ValueError)):
        broken(rf.get("/broken/"))
    assert not breaker("default").snapshot()["open"], "a bug opened the outage breaker"
    assert Client().get("/catalog/")["X-Smartcache"] != "BYPASS", "other views bypass now"


@pytest.mark.django_db
def test_get_cached_takes_a_label_and_says_what_it_expects():
    category = Product._meta.get_field("category").related_model.objects.create(name="C", slug="c")
    laptop = Product.objects.create(name="L", slug="l", price=1, category=category)
    assert get_cached("testapp.Product", laptop.pk) == laptop
    with pytest.raises(TypeError, match="model class or an 'app_label.ModelName' string"):
        get_cached("shop.Nope", 1)


@pytest.mark.parametrize("setting", ["TRACK_MODELS", "WRITE_THROUGH"])
def test_a_setting_naming_a_model_that_does_not_exist_is_a_check_error(setting):
    with override_settings(SMARTCACHE={setting: ["testapp.Product", "shop.Nope"]}):
        found = [m for m in checks.run_checks() if m.id == "smartcache.E007"]
    assert len(found) == 1 and "'shop.Nope'" in found[0].msg, found


def test_leaving_out_of_capture_something_that_does_not_exist_is_a_check_error():
    names = ["testapp", "testapp.Tag", "TESTAPP.product", "analytics", "testapp.Nope"]
    with override_settings(SMARTCACHE={"AUTO_DEPENDENCIES_EXCLUDE": names}):
        found = [m.msg for m in checks.run_checks() if m.id == "smartcache.E009"]
    assert len(found) == 2, found
    assert "'analytics'" in found[0] and "'testapp.Nope'" in found[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("what", "query", "says", "never"),
    [
        ("all", "", "Every page, fragment and function result", "of this path"),
        ("model", "?model=testapp.Product", "depend on this model", "of this path"),
        ("url", "?url=/catalog/", "Every cached page of this path", "depend on this model"),
    ],
)
def test_the_purge_confirmation_explains_what_is_purged(admin_client, what, query, says, never):
    from django.urls import reverse

    url = reverse("admin:django_smartcache_cachecontrol_purge", args=[what]) + query
    page = admin_client.get(url).content.decode()
    assert says in page, f"the {what} confirmation does not say what it purges"
    assert never not in page, f"the {what} confirmation explains another purge"
