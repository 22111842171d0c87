"""The "Smart cache" admin page: the cache's state, and purges behind confirmation pages.

Registered for the table-less ``CacheControl`` model, so it is listed on the
admin index under the app's name. Only users with
``django_smartcache.purge_cache`` see it or reach any of its URLs (others get
403). Purges are POST only (admin CSRF protection), each behind a
confirmation page that a GET only displays; purging twice is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..invalidation.bumps import invalidate, invalidate_all
from ..invalidation.purge import invalidate_url, model_from_label, url_path
from ..models import CacheControl, can_purge
from . import overview
from .actions import SmartcacheAdminMixin

logger = logging.getLogger("django_smartcache")

__all__ = ["SmartcacheAdmin", "SmartcacheAdminMixin"]


@dataclass(frozen=True)
class Purge:
    """One purge the page offers: what it reaches, and how to run it."""

    field: str  # form field carrying ``value`` ("" for purge-everything)
    value: str
    target: str  # for the confirmation page and the success message
    run: Callable[[], Any]


def purge_for(what: str, data: QueryDict) -> Purge:
    """The purge of ``what`` ("all", "model", "url"); ``LookupError``/``ValueError`` if bad."""
    if what == "all":
        return Purge("", "", "everything in the smart cache", invalidate_all)
    if what == "model":
        label = data.get("model", "")
        model = model_from_label(label)
        name = f"{model._meta.verbose_name_plural} ({model._meta.label})"
        return Purge("model", label, f"the cache for {name}", lambda: invalidate(model))
    if what == "url":
        value = data.get("url", "")
        return Purge(
            "url",
            value,
            f"every cached variant of {url_path(value)}",
            lambda: invalidate_url(value),
        )
    raise Http404(f"Nothing to purge is called {what!r}.")


class SmartcacheAdmin(admin.ModelAdmin):
    """The page behind the admin index's "Smart cache" entry (no add/change/delete)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_purge(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_purge(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.changelist_view), name="{}_{}_changelist".format(*info)),
            path("purge/<slug:what>/", wrap(self.purge_view), name="{}_{}_purge".format(*info)),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        request.current_app = self.admin_site.name
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            **extra,
        }

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """The overview: tracked models, cached views and functions, purge controls."""
        context = self._context(request, "Smart cache", overview=overview.collect())
        return TemplateResponse(request, "admin/django_smartcache/overview.html", context)

    def purge_view(self, request: HttpRequest, what: str) -> HttpResponse:
        """Confirmation page (GET, or POST without ``confirm``); purge (POST ``confirm=yes``)."""
        context = self._context(request, "Are you sure?")
        data = request.POST if request.method == "POST" else request.GET
        info = self.opts.app_label, self.opts.model_name
        back = HttpResponseRedirect(
            reverse("admin:{}_{}_changelist".format(*info), current_app=self.admin_site.name)
        )
        try:
            purge = purge_for(what, data)
        except (LookupError, ValueError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return back
        if request.method == "POST" and data.get("confirm") == "yes":
            purge.run()
            logger.info("%s purged %s.", request.user.get_username(), purge.target)
            self.message_user(request, f"Purged {purge.target}.", messages.SUCCESS)
            return back
        context.update(purge=purge, what=what)  # the template explains each kind of purge
        return TemplateResponse(request, "admin/django_smartcache/purge_confirmation.html", context)


admin.site.register(CacheControl, SmartcacheAdmin)
