"""Fixtures of the ported Django tests (the suite-wide ones come from ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

from django_smartcache.invalidation import sending


@pytest.fixture(autouse=True)
def _own_aliases(monkeypatch):
    """Aliases these tests cache into (``cache="other"``, ``using=``) do not leak into other
    tests' invalidations."""
    monkeypatch.setattr(sending, "_extra_aliases", set(sending._extra_aliases))
