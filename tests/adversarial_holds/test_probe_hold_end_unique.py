"""``hold_end`` never runs ahead of the clock (pass 4 found that making ends unique with
``last + 1`` let a burst of holds outrun it): from 16 threads at once, every end is the
clock's now plus the hold, to the millisecond."""

from __future__ import annotations

import threading
import time

import pytest

from django_smartcache.stores import base

pytestmark = [pytest.mark.not_on_cluster]


def test_hold_ends_follow_the_clock():
    got: list[tuple[float, int, float]] = []
    lock = threading.Lock()

    def run():
        mine = []
        for _ in range(2000):
            before = time.time()
            end = base.hold_end(600.0)
            mine.append((before, end, time.time()))
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(got) == 32000
    for before, end, after in got:
        assert int((before + 600) * 1000) <= end <= int((after + 600) * 1000)
