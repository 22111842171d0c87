"""The ``clean`` fixture of the LocalHitMiddleware adversarial tests."""

import time

import pytest

from django_smartcache.frontends import replay
from django_smartcache.stores import local
from tests.adversarial_replay.test_replay_holes import BELOW


@pytest.fixture
def clean(real_redis):
    time.sleep(0.1)  # the previous test's FLUSHDB push arrives before this test warms up
    BELOW.clear()
    yield
    local.reset()
    replay.reset()
