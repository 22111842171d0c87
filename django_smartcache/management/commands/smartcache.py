"""``manage.py smartcache``: Django finds the command here; it is ``operations.command``."""

from ...operations.command import Command

__all__ = ["Command"]
