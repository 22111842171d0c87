"""URLs of the privacy matrix: ``@pytest.mark.urls("tests.privacy.urls")``."""

from django.urls import path

from tests.privacy import views

urlpatterns = [
    # Channels in the response itself (pages only).
    path("privacy/set-cookie/", views.set_cookie),
    path("privacy/raw-set-cookie/", views.raw_set_cookie),
    path("privacy/vary-cookie/", views.vary_cookie),
    path("privacy/cache-control/<str:directive>/", views.cache_control),
    path("privacy/api/whoami/", views.token_api),
    # Views that read the visitor.
    path("privacy/session/page/", views.session_page),
    path("privacy/session/function/", views.session_function),
    path("privacy/user/page/", views.user_page),
    path("privacy/user/function/", views.user_function),
    path("privacy/messages/function/", views.messages_function),
    path("privacy/csrf/page/", views.csrf_page),
    path("privacy/csrf/function/", views.csrf_function),
    # Templates that read the visitor: as a page, a fragment, a fragment in a page.
    path("privacy/template/<str:part>/page/", views.template_page),
    path("privacy/template/<str:part>/fragment/", views.fragment),
    path("privacy/template/<str:part>/fragment-in-page/", views.fragment_in_page),
    path("privacy/per-user-fragment/", views.per_user_fragment),
    # Support.
    path("privacy/messages/queue/", views.queue_message),
    path("privacy/submit/", views.submit),
]
