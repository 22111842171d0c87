"""``django_smartcache.middleware.SmartcacheMiddleware``, the path users put in ``MIDDLEWARE``.

The middleware is ``frontends.middleware``.
"""

from .frontends.middleware import SmartcacheMiddleware

__all__ = ["SmartcacheMiddleware"]
