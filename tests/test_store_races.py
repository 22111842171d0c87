"""The Redis store's read when it keeps losing the race to writers of the same entry."""

from __future__ import annotations

import pytest
from django_redis import get_redis_connection

from django_smartcache.stores.base import MISS
from django_smartcache.stores.factory import get_store

pytestmark = pytest.mark.django_db

TAGS = ["g", "m:testapp.product"]


def test_the_lock_script_refuses_a_reader_whose_view_of_the_entry_is_old():
    store = get_store()
    get_redis_connection("default").set(store.entry_key("k"), b"Esomething")
    assert store._lock("k", TAGS, None, b"Eother", True) == [-1]
    out = store._lock("k", TAGS, None, b"Eother", False)
    assert len(out) == 2 + len(TAGS), "without the comparison the tokens come back"


def test_a_reader_that_loses_every_race_still_gets_tokens_to_compute_with(monkeypatch):
    """It used to get a bare miss without tokens: the fill then failed and the failure
    was taken for an outage, bypassing the whole cache for a while."""
    store = get_store()
    real = store._read_once
    lost = []

    def racing(key, tags, lock_token, want_tags, compare=True, **more):
        if compare:
            lost.append(key)
            return None  # someone stored the entry between our MGET and our LOCK
        return real(key, tags, lock_token, want_tags, compare=compare, **more)

    monkeypatch.setattr(store, "_read_once", racing)
    found = store.read("k", TAGS, lock_token="t", want_tags=False)
    assert len(lost) == 3
    assert found.state == MISS
    assert len(found.tokens) == len(TAGS), "a miss without tokens cannot be computed"
