from django.urls import path

from . import api, views

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("category/<slug:slug>/", views.category, name="category"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("news/", views.news_list, name="news_list"),
    path("news/<slug:slug>/", views.news_detail, name="news_detail"),
    path("api/products/", api.product_list, name="api_product_list"),
    path("api/products/<slug:slug>/", api.product_detail, name="api_product_detail"),
    path("api/products/<slug:slug>/stock/", api.product_stock, name="api_product_stock"),
]
