"""``django_smartcache.middleware.SmartcacheMiddleware``, the path users put in ``MIDDLEWARE``.

``SmartcacheMiddleware`` is ``frontends.middleware``; ``LocalHitMiddleware`` (answers
repeated anonymous requests for hot pages from the local tier) is ``frontends.replay``.
"""

from .frontends.middleware import SmartcacheMiddleware
from .frontends.replay import LocalHitMiddleware

__all__ = ["LocalHitMiddleware", "SmartcacheMiddleware"]
