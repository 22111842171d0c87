"""django-smartcache: Redis caching of pages and data that invalidates itself on commit.

Public API::

    from django_smartcache import cache_page, cached, depend_on, get_cached
    from django_smartcache import invalidate, invalidate_all, invalidate_url
    from django_smartcache import uncaptured
"""

from .core.context import uncaptured
from .frontends.decorators import cache_page
from .frontends.functions import cached
from .frontends.writethrough import get_cached
from .invalidation.bumps import invalidate, invalidate_all
from .invalidation.purge import invalidate_url
from .invalidation.tracking import depend_on

__all__ = [
    "cache_page",
    "cached",
    "depend_on",
    "get_cached",
    "invalidate",
    "invalidate_all",
    "invalidate_url",
    "uncaptured",
]
__version__ = "0.2.0"  # the single source: pyproject.toml reads it
