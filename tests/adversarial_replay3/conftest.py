"""The ``clean`` fixture of the first LocalHitMiddleware adversarial pass."""

from tests.adversarial_replay.conftest import clean

__all__ = ["clean"]
