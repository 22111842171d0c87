"""The demo shop's URLs plus the bench-only variants (see ``bench/views.py``)."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/ping/", views.ping),
    path("bench/uncached/products/<slug:slug>/", views.product_uncached),
    path("bench/django/products/<slug:slug>/", views.product_django),
    path("bench/smartcache/products/<slug:slug>/", views.product_smartcache),
    path("bench/one-get/products/<slug:slug>/", views.one_get),
    path("bench/constant/products/<slug:slug>/", views.constant),
    path("bench/csrf-floor/products/<slug:slug>/", views.csrf_floor),
    path("bench/csrf/without-form/<slug:slug>/", views.page_without_form),
    path("bench/csrf/with-form/<slug:slug>/", views.page_with_form),
    path("bench/stampede/smartcache/", views.stampede_smartcache),
    path("bench/stampede/django/", views.stampede_django),
    path("", include("example_project.demo.urls")),
]
