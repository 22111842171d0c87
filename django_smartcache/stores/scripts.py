"""Lua scripts for the steps of a cache operation that must be atomic, read from ``lua/*.lua``.

Each file says what its KEYS and ARGV are and what it returns; the constants below hold
their text (``LOCK`` is ``lua/lock.lua``), loaded once at import from the package data.

An entry is a Redis string under a stable key::

    E<fresh until ms>\\t<compute ms>\\t<tag>\\n<token>\\n<tag>\\n<token>...\\0<payload>

``fresh until`` is when it stops being fresh (epoch ms; ``0`` = never); after it, the entry
is served only as STALE while one process recomputes it, until the key's TTL
(``STALE_TTL`` later). ``compute ms`` feeds early recomputation (XFetch). Tag names are
stored without the key prefix; the payload is encoded by django-redis (serializer and
compressor). ``V<header names>`` is a Vary manifest and ``X<reason>`` a short-lived
"do not cache, do not wait" marker.

A hit needs no script: one ``MGET`` of the entry and the tags' tokens, compared by the
client (``redis_store.py``). Scripts take the lock, store, mark, release and bump.

A token is ``"<seq>-<random>"``: ``seq`` comes from one counter that every
invalidation increments, so a computation that remembers the counter value it
started at can tell whether a tag it discovers later was bumped while it ran.
Tokens created because a tag was missing (never bumped, or evicted) use seq 0.
A *held* token, ``"<seq>-H<until ms>-<random>"``, marks a tag written by a transaction
whose commit has not been seen yet (manual transactions): nothing is stamped with it
until then. It has no TTL (a ``volatile-*`` eviction policy never drops it); the hold
ends at ``until``, carried in the token.

Tag keys never outlive the entries that need them: one created by a read lives
``LOCK_TIMEOUT`` (the longest a computation may take), and each store extends the
TTL of every tag in its stamp to the entry's own (``PEXPIRE ... GT``; a tag of an
entry without expiry is made persistent). A bump does not create a missing tag: no
entry can match a token that does not exist, and the counter it increments stops
any computation under way from storing with that tag (see ``store.lua``).
"""

from __future__ import annotations

from importlib.resources import files

_LUA = files(__package__).joinpath("lua")


def _load(name: str) -> str:
    return _LUA.joinpath(f"{name}.lua").read_text(encoding="utf-8")


LOCK = _load("lock")  # take the lock and read the tokens to stamp a computation with
STORE = _load("store")  # store an entry unless a dynamic tag moved; release the lock
MARK = _load("mark")  # a Vary manifest or a pass marker in place of the entry
RELEASE = _load("release")  # release the lock if it is still ours
BUMP = _load("bump")  # new tokens for tags (or held ones), one counter step
GENERATION = _load("generation")  # a Redis that is not the one that acknowledged: bump all

# Redis Cluster (cluster_store.py): LOCK and STORE split into a step on the entry's node and
# a step on the tag node (the slot of the tokens and the counter); MARK, RELEASE and BUMP as is.
CLAIM = _load("claim")  # entry node: the lock, unless the entry changed since the read
TOKENS = _load("tokens")  # tag node: LOCK's tokens and counter, without the lock
STAMP = _load("stamp")  # tag node: STORE's check of the run-time tags, without the write
NODE = _load("node")  # tag node: an entry node not known (restarted, promoted): bump all
