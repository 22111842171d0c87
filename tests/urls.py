from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from tests import views
from tests.sitemaps import SITEMAPS

urlpatterns = [
    path("admin/", admin.site.urls),
    path("catalog/", views.catalog),
    path("django/catalog/", views.django_catalog),
    path("products/<slug:slug>/", views.product_detail),
    path("home/", views.home),
    path("plain/", views.plain),
    path("listing/", views.listing),
    path("status/<int:status>/", views.with_status),
    path("csrf/", views.csrf_form),
    path("cookie/", views.sets_cookie),
    path("cache-control/<str:directive>/", views.cache_control),
    path("vary/<str:header>/", views.vary),
    path("streaming/", views.streaming),
    path("session/", views.reads_session),
    path("whoami/", views.whoami),
    path("locmem/catalog/", views.locmem_catalog),
    path("slow/", views.slow),
    path("flaky/", views.flaky),
    path("django/slow/", views.django_slow),
    path("async/", views.async_view),
    path("csrf/template/", views.csrf_template),
    path("csrf/fragment/", views.csrf_fragment),
    path("csrf/fragment-page/", views.csrf_fragment_page),
    path("csrf/secret/", views.csrf_secret_shown),
    path("csrf/header/", views.csrf_in_header),
    path("form/", views.form_post),
    path("private/", include("tests.private_views")),
    path("stress/", include("tests.stress_views")),
    path("capture/", include("tests.capture_views")),
]

urlpatterns += [
    path("fragments/cards/", views.fragment_cards),
    path("fragments/page/<slug:slug>/", views.fragment_page),
]

# For `manage.py smartcache warm --sitemap`: an index and its sections.
urlpatterns += [
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS},
        name="django.contrib.sitemaps.views.index",
    ),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": SITEMAPS},
        name="django.contrib.sitemaps.views.sitemap",
    ),
]
