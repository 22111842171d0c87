"""django-smartcache: Redis caching of pages and data that invalidates itself on commit.

Public API::

    from django_smartcache import cache_page, cached, depend_on, get_cached
    from django_smartcache import invalidate, invalidate_all, invalidate_url
"""

from .context import depend_on
from .decorators import cache_page
from .functions import cached
from .invalidation import invalidate, invalidate_all
from .purge import invalidate_url
from .writethrough import get_cached

__all__ = [
    "cache_page",
    "cached",
    "depend_on",
    "get_cached",
    "invalidate",
    "invalidate_all",
    "invalidate_url",
]
__version__ = "0.2.0"  # the single source: pyproject.toml reads it
