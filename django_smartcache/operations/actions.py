"""The admin row action "Purge cache for selected …" on the changelists of tracked models.

``SmartcacheAdminMixin`` adds it to a ``ModelAdmin``. Users do not have to add
the mixin themselves: when the app is ready, every model already registered in
an admin site is registered again with its ``ModelAdmin`` subclassed with the
mixin (public ``unregister``/``register``; no Django class is modified). The
action is offered only for tracked models and only to users with the
``django_smartcache.purge_cache`` permission; it decides that in
``get_actions()`` rather than through ``allowed_permissions``, which would
oblige every ``ModelAdmin`` to define ``has_purge_cache_permission()``
(``admin.E129``).
"""

from __future__ import annotations

import inspect
import logging
import threading
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import ModelAdmin
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.sites import AdminSite, all_sites
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from ..invalidation.bumps import invalidate
from ..invalidation.tracking import OWN_APP, is_tracked
from ..models import can_purge

logger = logging.getLogger("django_smartcache")

DESCRIPTION = gettext_lazy("Purge cache for selected %(verbose_name_plural)s")


@admin.action(description=DESCRIPTION)
def smartcache_purge_selected(
    modeladmin: ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> None:
    """Invalidate the selected rows as if they were saved, and say how many."""
    if not can_purge(request.user):
        raise PermissionDenied
    rows = list(queryset.select_related(None).prefetch_related(None).only("pk"))
    if rows:
        invalidate(*rows)
    logger.info(
        "%s purged the cache for %d %s rows.",
        request.user.get_username(),
        len(rows),
        queryset.model._meta.label,
    )
    text = ngettext(
        "Purged the cache for %(count)d %(items)s.",
        "Purged the cache for %(count)d %(items)s.",
        len(rows),
    ) % {"count": len(rows), "items": model_ngettext(modeladmin.opts, len(rows))}
    modeladmin.message_user(request, text, messages.SUCCESS)


ACTION_NAME = smartcache_purge_selected.__name__


class SmartcacheAdminMixin:
    """Adds the purge action to a ``ModelAdmin`` (put it before ``admin.ModelAdmin``)."""

    def has_purge_cache_permission(self, request: HttpRequest) -> bool:
        """Whether the user may purge (usable in ``allowed_permissions=("purge_cache",)``)."""
        return can_purge(request.user)

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        """The actions, plus the purge action for permitted users on tracked models.

        ``action_location`` is Django 6.1's (change list or change form); older
        versions never pass it.
        """
        actions = self._smartcache_parent_actions(request, action_location)
        if self.actions is None or IS_POPUP_VAR in request.GET:  # type: ignore[attr-defined]
            return actions
        model = self.model  # type: ignore[attr-defined]
        if ACTION_NAME in actions or not is_tracked(model):
            return actions
        if self.has_purge_cache_permission(request):
            where = () if action_location is None else (action_location,)
            found = self.get_action(smartcache_purge_selected, *where)  # type: ignore[attr-defined]
            if found:  # Django 6.1: None where the action is not shown (the change form)
                actions[ACTION_NAME] = found
        return actions

    def _smartcache_parent_actions(self, request: HttpRequest, location: Any) -> dict[str, Any]:
        parent = super().get_actions  # type: ignore[misc]
        if location is None:
            return parent(request)
        if "action_location" in inspect.signature(parent).parameters:
            return parent(request, action_location=location)
        # A parent with the pre-6.1 signature: Django shows its actions on change lists only.
        return parent(request) if getattr(location, "value", location) == "CHANGE_LIST" else {}


_lock = threading.Lock()


def attach(site: AdminSite) -> list[type]:
    """Give every registered ``ModelAdmin`` of ``site`` the mixin; return the models changed."""
    changed = []
    with _lock:
        for model, model_admin in list(site._registry.items()):
            if model._meta.app_label == OWN_APP or isinstance(model_admin, SmartcacheAdminMixin):
                continue
            cls = type(model_admin)
            subclass = type(cls)(  # the ModelAdmin's own metaclass (MediaDefiningClass)
                cls.__name__,
                (SmartcacheAdminMixin, cls),
                {"__module__": cls.__module__, "__qualname__": cls.__qualname__},
            )
            site.unregister(model)
            site.register(model, subclass)
            changed.append(model)
    return changed


def attach_all() -> None:
    """:func:`attach` on every admin site that exists now."""
    for site in list(all_sites):
        attach(site)
