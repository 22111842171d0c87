from tests.adversarial import views, views_csrf

urlpatterns = views.urlpatterns + views_csrf.urlpatterns
