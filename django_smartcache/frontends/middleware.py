"""``SmartcacheMiddleware``: see what other middleware read of the visitor before the view.

A middleware that copies the cart from the session onto the request
(``request.cart``), or greets the user it loaded, hands the view data of one visitor
under a name this app cannot watch. Placed right after Django's session,
authentication and message middleware, this one puts recording stand-ins
(``standins``) in place of the request's ``user``, ``session``, message storage and
``COOKIES`` for the rest of the request, and records every use that is not Django's
own (loading the session, checking the CSRF cookie) in a per-request set. Then:

- a page is neither served from nor stored to the shared cache when the session,
  cookies or messages were read before the view;
- a fragment or function computed for the request counts those reads as its own,
  and a read of an authenticated user too.

Without it, a session read before the view is still seen through the session's own
``accessed`` flag, but not a read of ``session_key`` or of ``COOKIES`` (check smartcache.W003).
"""

from __future__ import annotations

from typing import Any

from django.utils.deprecation import MiddlewareMixin

from ..core import privacy
from ..core.standins import Recorder, Target, quiet, watched_copy


class SmartcacheMiddleware(MiddlewareMixin):
    """Records the visitor reads other middleware make; put it after MessageMiddleware."""

    def process_request(self, request: Any) -> None:
        before: set[str] = set()
        where = Target((), before)
        attrs = request.__dict__
        for name, what, check in privacy._PARTS:
            current = attrs.get(name)
            if current is not None:
                attrs[name] = Recorder(current, what, where, check)
        with quiet():
            attrs["COOKIES"] = watched_copy(privacy.WatchedCookies, request.COOKIES, where)
        setattr(request, privacy.BEFORE, where)

    def process_response(self, request: Any, response: Any) -> Any:
        where = getattr(request, privacy.BEFORE, None)
        if where is not None:
            where.closed = True  # what the middleware read on the way out is not our business
        return response
