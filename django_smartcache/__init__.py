"""django-smartcache: Redis caching of pages and data that invalidates itself on commit.

Public API::

    from django_smartcache import cache_page, depend_on, invalidate, invalidate_all
"""

from .context import depend_on
from .decorators import cache_page
from .invalidation import invalidate, invalidate_all

__all__ = ["cache_page", "depend_on", "invalidate", "invalidate_all"]
__version__ = "0.1.0"
