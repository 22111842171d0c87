from tests.adversarial2 import views, views_more

urlpatterns = views.urlpatterns + views_more.urlpatterns
