"""The admin, where Django's autodiscovery looks: importing it registers the "Smart cache" page.

The page is ``operations.admin``, the purge action ``operations.actions``; both names below
are documented at this path.
"""

from .operations.admin import SmartcacheAdmin, SmartcacheAdminMixin

__all__ = ["SmartcacheAdmin", "SmartcacheAdminMixin"]
