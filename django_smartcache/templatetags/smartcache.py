"""``{% load smartcache %}``: Django finds the library here; the tag is ``frontends.fragments``."""

from ..frontends.fragments import register

__all__ = ["register"]
