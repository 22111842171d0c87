"""The admin: the purge row action, the Smart cache page, and who may use them."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory, override_settings

from django_smartcache import invalidate
from django_smartcache.operations.actions import ACTION_NAME, SmartcacheAdminMixin, attach
from tests.admin_users import make_user
from tests.helpers import status
from tests.testapp.models import Product

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/testapp/product/"
PAGE = "/admin/django_smartcache/cachecontrol/"
PAGES = ("/products/laptop/", "/products/phone/", "/catalog/")


def logged_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def superuser():
    return logged_in(make_user("root", purge=True, superuser=True))


@pytest.fixture
def purger():
    return logged_in(make_user("purger", purge=True))


@pytest.fixture
def staff():
    """Staff who may view and change products, but not purge the cache."""
    return logged_in(make_user("staff", purge=False))


def warm(client, *urls: str) -> None:
    for url in urls:
        client.get(url)
        assert status(client.get(url)) == "HIT", url


def statuses(client) -> dict[str, str]:
    return {url: status(client.get(url)) for url in PAGES}


def action_names(response) -> list[str]:
    return [name for name, _ in response.context["action_form"].fields["action"].choices]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def run_action(browser, *rows):
    data = {"action": ACTION_NAME, "_selected_action": [row.pk for row in rows]}
    return browser.post(CHANGELIST, data, follow=True)


# --------------------------------------------------------------------------- row action


@pytest.mark.parametrize("who", ["superuser", "purger"])
def test_changelist_offers_the_action_to_permitted_users(who, request, shop):
    response = request.getfixturevalue(who).get(CHANGELIST)
    assert ACTION_NAME in action_names(response)
    assert "Purge cache for selected products" in response.content.decode()


def test_staff_without_the_permission_does_not_see_the_action(staff, shop):
    response = staff.get(CHANGELIST)
    assert response.status_code == 200
    assert action_names(response) == ["", "delete_selected"]
    assert "Purge cache" not in response.content.decode()


def test_action_purges_the_selected_rows_as_if_saved(purger, client, shop):
    warm(client, *PAGES)
    response = run_action(purger, shop["laptop"])
    assert messages_of(response) == ["Purged the cache for 1 product."]
    # The row's own page and the model-level page go stale; the other row's page does not.
    assert statuses(client) == {
        "/products/laptop/": "MISS",
        "/products/phone/": "HIT",
        "/catalog/": "MISS",
    }


def test_action_says_how_many_rows_it_purged(superuser, client, shop):
    warm(client, *PAGES)
    response = run_action(superuser, shop["laptop"], shop["phone"])
    assert messages_of(response) == ["Purged the cache for 2 products."]
    assert set(statuses(client).values()) == {"MISS"}


def test_staff_without_the_permission_cannot_purge_by_posting_the_action(staff, client, shop):
    warm(client, *PAGES)
    response = run_action(staff, shop["laptop"], shop["phone"])
    assert response.status_code == 200
    assert not any("Purged" in text for text in messages_of(response))
    assert set(statuses(client).values()) == {"HIT"}


def test_running_the_action_twice_is_harmless(purger, client, shop):
    warm(client, *PAGES)
    run_action(purger, shop["laptop"])
    response = run_action(purger, shop["laptop"])
    assert messages_of(response) == ["Purged the cache for 1 product."]
    assert status(client.get("/products/laptop/")) == "MISS"
    assert status(client.get("/products/laptop/")) == "HIT"


def test_action_is_not_offered_on_untracked_models(superuser):
    with override_settings(SMARTCACHE={"TRACK_MODELS": ["testapp.Product"]}):
        Group.objects.create(name="editors")
        assert ACTION_NAME not in action_names(superuser.get("/admin/auth/group/"))


def test_every_registered_model_admin_got_the_mixin_without_losing_its_options():
    product_admin = admin.site.get_model_admin(Product)
    assert isinstance(product_admin, SmartcacheAdminMixin)
    assert type(product_admin).__name__ == "ProductAdmin"
    assert product_admin.list_display == ["name", "category", "price"]


def test_attach_subclasses_each_admin_once_on_any_site():
    site = admin.AdminSite(name="elsewhere")
    site.register(Product, list_display=["name"])
    assert attach(site) == [Product]
    assert attach(site) == []
    assert isinstance(site.get_model_admin(Product), SmartcacheAdminMixin)
    assert site.get_model_admin(Product).list_display == ["name"]


def test_mixin_can_back_an_explicit_allowed_permissions_action(superuser):
    @admin.action(permissions=["purge_cache"], description="Mine")
    def mine(modeladmin, request, queryset):
        invalidate(*queryset)

    class ExplicitAdmin(SmartcacheAdminMixin, admin.ModelAdmin):
        actions = [mine]

    site = admin.AdminSite(name="explicit")
    site.register(Product, ExplicitAdmin)
    model_admin = site.get_model_admin(Product)
    assert model_admin.check() == []  # has_purge_cache_permission exists: no admin.E129
    request = RequestFactory().get("/")
    request.user = make_user("nobody", purge=False)
    assert set(model_admin.get_actions(request)) == {"delete_selected"}
    request.user = make_user("somebody", purge=True)
    assert set(model_admin.get_actions(request)) == {"delete_selected", "mine", ACTION_NAME}


# --------------------------------------------------------------------------- the page


def test_admin_index_links_the_page_for_permitted_users_only(purger, staff):
    assert f'href="{PAGE}"' in purger.get("/admin/").content.decode()
    assert PAGE not in staff.get("/admin/").content.decode()


def test_page_lists_models_dependants_last_invalidation_and_counts(purger, client, shop):
    warm(client, "/catalog/", "/products/laptop/")  # two hits, two misses
    invalidate(Product)
    response = purger.get(PAGE)
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "admin/django_smartcache/overview.html"
    data = response.context["overview"]
    product = next(row for row in data.models if row.label == "testapp.product")
    assert product.last_invalidated is not None
    declared = {(d.name, d.declared) for d in product.dependants}
    assert ("tests.views.catalog", True) in declared
    assert ("tests.views.product_detail", False) in declared  # found by depend_on(product)
    catalog = next(e for e in data.entries if e.name == "tests.views.catalog")
    assert (catalog.hit, catalog.miss, catalog.ratio_text) == (1, 1, "50%")
    html = response.content.decode()
    assert '<div class="breadcrumbs">' in html and "Smart cache" in html
    assert 'data-model="testapp.product"' in html


@pytest.mark.parametrize(
    "url",
    [
        PAGE,
        PAGE + "purge/all/",
        PAGE + "purge/model/?model=testapp.product",
        PAGE + "purge/url/?url=/catalog/",
    ],
)
def test_staff_without_the_permission_gets_403_on_every_page_url(url, staff):
    assert staff.get(url).status_code == 403


@pytest.mark.parametrize(
    ("what", "data"),
    [("all", {}), ("model", {"model": "testapp.product"}), ("url", {"url": "/catalog/"})],
)
def test_staff_without_the_permission_cannot_purge_by_posting(what, data, staff, client, shop):
    warm(client, *PAGES)
    response = staff.post(f"{PAGE}purge/{what}/", {**data, "confirm": "yes"})
    assert response.status_code == 403
    assert set(statuses(client).values()) == {"HIT"}


def test_anonymous_visitors_are_sent_to_the_login_page(client, shop):
    warm(client, "/catalog/")
    response = client.post(f"{PAGE}purge/all/", {"confirm": "yes"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert status(client.get("/catalog/")) == "HIT"


@pytest.mark.parametrize(
    ("what", "data", "shown"),
    [
        ("all", {}, "Purge everything in the smart cache?"),
        ("model", {"model": "testapp.product"}, "Purge the cache for products (testapp.Product)?"),
        ("url", {"url": "https://shop.example/catalog/?page=2"}, "variant of /catalog/?"),
    ],
)
def test_confirmation_page_does_not_purge(what, data, shown, purger, client, shop):
    warm(client, *PAGES)
    response = purger.get(f"{PAGE}purge/{what}/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert shown in html and 'name="csrfmiddlewaretoken"' in html and 'method="post"' in html
    assert set(statuses(client).values()) == {"HIT"}
    # A POST without the confirmation field only shows the page again.
    response = purger.post(f"{PAGE}purge/{what}/", data)
    assert response.status_code == 200 and shown in response.content.decode()
    assert set(statuses(client).values()) == {"HIT"}


def test_purge_everything_through_the_confirmation(purger, client, shop):
    warm(client, *PAGES, "/home/")
    response = purger.post(f"{PAGE}purge/all/", {"confirm": "yes"}, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert messages_of(response) == ["Purged everything in the smart cache."]
    assert response.context["overview"].purged_all is not None
    assert set(statuses(client).values()) == {"MISS"}
    assert status(client.get("/home/")) == "MISS"


def test_purge_a_model_through_the_confirmation(purger, client, shop):
    warm(client, *PAGES, "/home/")
    response = purger.post(
        f"{PAGE}purge/model/", {"model": "testapp.product", "confirm": "yes"}, follow=True
    )
    assert messages_of(response) == ["Purged the cache for products (testapp.Product)."]
    assert set(statuses(client).values()) == {"MISS"}  # row-level pages too
    assert status(client.get("/home/")) == "HIT"


def test_purge_a_url_through_the_confirmation(purger, client, shop):
    warm(client, "/plain/?a=1", "/home/")
    response = purger.post(
        f"{PAGE}purge/url/", {"url": "/plain/?b=2", "confirm": "yes"}, follow=True
    )
    assert messages_of(response) == ["Purged every cached variant of /plain/."]
    assert status(client.get("/plain/?a=1")) == "MISS"
    assert status(client.get("/home/")) == "HIT"


def test_purging_twice_from_the_page_is_harmless(purger, client, shop):
    warm(client, "/catalog/")
    for _ in range(2):
        response = purger.post(f"{PAGE}purge/all/", {"confirm": "yes"}, follow=True)
        assert messages_of(response) == ["Purged everything in the smart cache."]
    assert status(client.get("/catalog/")) == "MISS"
    assert status(client.get("/catalog/")) == "HIT"


def test_purge_without_a_csrf_token_is_refused(client, shop):
    warm(client, "/catalog/")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("careful", purge=True))
    assert browser.post(f"{PAGE}purge/all/", {"confirm": "yes"}).status_code == 403
    assert status(client.get("/catalog/")) == "HIT"


@pytest.mark.parametrize(
    ("what", "data", "error"),
    [
        ("model", {"model": "testapp.nope"}, "No installed model is called 'testapp.nope'."),
        ("model", {"model": ""}, "'' is not of the form 'app_label.ModelName'."),
        (
            "url",
            {"url": "catalog/"},
            "'catalog/' is not an http(s) URL or a path starting with '/'.",
        ),
    ],
)
def test_bad_purge_targets_are_reported_and_purge_nothing(what, data, error, purger, client, shop):
    warm(client, "/catalog/")
    response = purger.post(f"{PAGE}purge/{what}/", {**data, "confirm": "yes"}, follow=True)
    assert messages_of(response) == [error]
    assert status(client.get("/catalog/")) == "HIT"


def test_unknown_purge_kind_is_404(purger):
    assert purger.get(f"{PAGE}purge/everything/").status_code == 404


def test_no_add_change_or_delete_pages_exist(purger):
    for url in (f"{PAGE}add/", f"{PAGE}1/change/", f"{PAGE}1/delete/"):
        assert purger.get(url).status_code == 404, url
