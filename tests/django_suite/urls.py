"""URLs of the ported Django tests (``@pytest.mark.urls("tests.django_suite.urls")``)."""

from django.contrib.sitemaps import views as sitemap_views
from django.urls import path

from django_smartcache import cache_page
from tests.django_suite import views

urlpatterns = [
    path("csrf/", views.csrf_view),
    path("accept-post/", views.accept_post),
    path("refreshing-cookie/", views.refreshing_cookie_view),
    path("raw-refreshing-cookie/", views.raw_refreshing_cookie_view),
    path("i18n/", views.i18n_view),
    path("template_response_view/", views.template_response_view),
    # Django's generic_views/urls.py: cache_page(2)(TemplateView.as_view(...)).
    path("template/cached/<foo>/", cache_page(1)(views.AboutView.as_view())),
    path("template/method-cached/<foo>/", views.CachedAboutView.as_view()),
    # Django's sitemaps_tests/urls/http.py.
    path(
        "cached/index.xml",
        cache_page(1)(sitemap_views.index),
        {"sitemaps": views.simple_sitemaps, "sitemap_url_name": "cached_sitemap"},
    ),
    path(
        "cached/sitemap-<section>.xml",
        cache_page(1)(sitemap_views.sitemap),
        {"sitemaps": views.simple_sitemaps},
        name="cached_sitemap",
    ),
]
