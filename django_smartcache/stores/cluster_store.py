"""The Redis Cluster store: the guarantees of ``RedisStore``, keys spread over the nodes.

Layout. Everything an invalidation touches lives in one hash slot, the *tag slot*
(hash tag ``{<KEY_PREFIX>}``: ``sc:v:{sc}<tag>``, ``sc:seq{sc}``, ``sc:bumped{sc}``,
``sc:server{sc}``, ``sc:stats{sc}``, ``sc:stats:<bucket>{sc}``): the tag tokens, the
invalidation counter, the bump times, the server record and the stats (all-time and per
ten-minute bucket, flushed together in one round trip). A bump therefore stays one atomic script
(``BUMP``, unchanged) on one node, the *tag node*. An entry and its fill lock share a
hash tag of their own (``sc:e:<key>{<crc32 of key>}``, ``sc:l:<key>{...}``), so entries
and locks spread over the cluster by key. Hash tags come last so that the keys read as
on a single Redis (``sc:e:page:...``).

Round trips. Each operation needs at most one node of each kind, so it sends its
command(s) to the entry node and to the tag node at once and only then reads both
replies: two nodes, one round trip of wall time. This goes below redis-py's cluster
pipeline (about twice the Python per hit) to the two nodes' pooled connections, with
the cluster client's own view of which node serves which slot.

Why each step is safe when it is split over two nodes:

- A hit reads the entry (entry node) and the current tokens (tag node) at once. The
  entry carries the tokens it was stamped with and is served only when they equal the
  current ones; it does not matter which reply was made first: an entry read before a
  bump and tokens read after it do not match, and the reverse pair is simply the state
  before the bump (as if the hit came earlier).
- A fill takes the lock on the entry node (``CLAIM``) while it reads or creates the
  tokens on the tag node (``TOKENS``), before the view runs: whatever the order of the
  two, the tokens are read before computing, so a bump after them makes what is
  computed carry old tokens (guarantee 2). The lock only keeps single flight.
- A store first checks the run-time tags and the counter on the tag node (``STAMP``,
  as ``STORE`` does), then writes the entry on its node. A bump between the two steps
  replaces tokens the entry was just stamped with: the entry is written but never
  validates. When the entry has no run-time tags, ``STAMP`` decides nothing (it only
  extends the tags' TTL), and both steps go out at once.

Server identity (guarantee 7), on every node. A tag node that comes back older could
bring back old tokens, and so old entries: new connections to the tag node run the
``GENERATION`` check (``server_identity``), and a new ``run_id`` bumps the global tag
before the next hit. An entry node that comes back older (restarted from disk, a replica
promoted that missed writes) cannot bring back an entry invalidated by a bump (its stamp
is checked against the tag node's tokens), but it does bring back one that was *deleted*
(``fn.invalidate(*args)``): new connections to any other node check its identity (its
``run_id`` and replication id) against those recorded on the tag node (``NODE``), and an
unknown one bumps the global tag, before anything is read through them.
"""

from __future__ import annotations

import secrets
import time
import zlib
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from redis.crc import key_slot
from redis.exceptions import NoScriptError, ResponseError

from ..conf import get_settings
from . import scripts, server_identity
from .base import hold_end
from .cluster import ClusterAccess
from .cluster_nodes import NodeExchange
from .redis_store import NotReplicated, _ms, _text, sum_hashes
from .stamped import StampedStore


class _Script:
    __slots__ = ("script", "sha")

    def __init__(self, text: str) -> None:
        from hashlib import sha1

        self.script, self.sha = text, sha1(text.encode()).hexdigest()


_NAMES = ("CLAIM", "TOKENS", "STAMP", "MARK", "RELEASE", "BUMP")


class ClusterStore(StampedStore):
    """Entries on their own node, checked against the tokens of the tag node."""

    def __init__(self, alias: str, cache: Any, prefix: str, access: ClusterAccess) -> None:
        super().__init__(alias, cache, prefix)
        self._cluster = access.client
        self._make_key = access.make_key
        self._encode = access.encode
        self._decode = access.decode
        problem = layout_problem(self._make_key, prefix)
        if problem:
            raise ImproperlyConfigured(problem)
        # A brace in the prefix would open a hash tag of its own: written escaped.
        self._body = body = _escape(prefix)
        slot = "{" + body + "}"  # the hash tag of the tag slot
        self.tag_prefix = self._make_key(f"{body}:v:{slot}")
        self.seq_key = self._make_key(f"{body}:seq{slot}")
        self.bumped_key = self._make_key(f"{body}:bumped{slot}")
        self.stats_key = self._make_key(f"{body}:stats{slot}")
        self.server_key = self._make_key(f"{body}:server{slot}")
        self.nodes_key = self._make_key(f"{body}:nodes{slot}")
        self.tag_slot = self._cluster.keyslot(self.seq_key)
        self._learned: dict[str, tuple[str, ...]] = {}
        self._nodes = NodeExchange(self._cluster, self._watch)
        self._scripts = {name: _Script(getattr(scripts, name)) for name in _NAMES}

    # ------------------------------------------------------------------ keys and nodes

    # An entry and its lock: the same key after ``e:`` / ``l:``, so the same hash tag: the
    # key's own first ``{...}`` if it has one, else the suffix (a digest of the key).
    def entry_key(self, key: str) -> str:
        return self._make_key(f"{self._body}:e:{key}{{{_spread(key)}}}")

    def lock_key(self, key: str) -> str:
        return self._make_key(f"{self._body}:l:{key}{{{_spread(key)}}}")

    def _watch(self, slot: int, pool: Any) -> None:
        # A node we have not used yet (the first, or a replica promoted): its new
        # connections check its identity before anything is read through them.
        server_identity.watch(self, pool, _check_node)

    def tag_connection(self) -> Any:
        """A new connection to the tag node, of its own (not pooled, not checked)."""
        pool = self._nodes.pool(self.tag_slot)
        kwargs = {k: v for k, v in pool.connection_kwargs.items() if k != "redis_connect_func"}
        connection = pool.connection_class(**kwargs)
        connection.connect()
        return connection

    def _exchange(self, *sends: tuple[int, Sequence[Sequence[Any]]]) -> list[list[Any]]:
        return self._nodes.exchange(*sends)

    def _run(self, *sends: tuple[int, Sequence[tuple[str, Sequence[Any], Sequence[Any]]]]):
        """Scripts ``(name, keys, args)`` per slot, in one round trip of wall time; a
        node that lost a script gets it again (one more round trip, once)."""
        replies = self._exchange(
            *((slot, [self._evalsha(*call) for call in calls]) for slot, calls in sends)
        )
        missing = [
            (slot, [("SCRIPT", "LOAD", self._scripts[call[0]].script), self._evalsha(*call)])
            for (slot, calls), got in zip(sends, replies, strict=True)
            for call, reply in zip(calls, got, strict=True)
            if isinstance(reply, NoScriptError)
        ]
        if missing:
            again = iter(self._exchange(*missing))
            for got in replies:
                for c, reply in enumerate(got):
                    if isinstance(reply, NoScriptError):
                        got[c] = next(again)[1]
        for got in replies:
            for reply in got:
                if isinstance(reply, ResponseError):
                    raise reply
        return replies

    def _evalsha(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> tuple:
        return ("EVALSHA", self._scripts[name].sha, len(keys), *keys, *args)

    # ------------------------------------------------------------------ reads

    def _fetch(
        self, key: str, tags: Sequence[str], learned: Sequence[str]
    ) -> tuple[bytes | None, list[Any]]:
        """The entry from its node and the tokens from the tag node, at once."""
        prefix = self.tag_prefix
        entry_key = self.entry_key(key)
        tag_keys = [*(prefix + tag for tag in tags), *(prefix + t for t in learned)]
        entry_slot = self._cluster.keyslot(entry_key)
        if not tag_keys:
            return self._exchange((entry_slot, [("GET", entry_key)]))[0][0], []
        got = self._exchange(
            (entry_slot, [("GET", entry_key)]), (self.tag_slot, [("MGET", *tag_keys)])
        )
        return got[0][0], got[1][0]

    def _fetch_tags(self, names: Sequence[str]) -> list[Any]:
        keys = [self.tag_prefix + name for name in names]
        return self._exchange((self.tag_slot, [("MGET", *keys)]))[0][0]

    def _lock(
        self, key: str, tags: Sequence[str], lock_token: str | None, seen: bytes, compare: bool
    ) -> list:
        """Claim the fill lock (entry node) and read or create the tokens (tag node), at
        once: the tokens are read before the view runs, whichever lands first. Answers as
        ``LOCK`` does: ``[-1]`` or ``[locked, seq, tokens...]``."""
        lock_ms = max(1, int(get_settings().LOCK_TIMEOUT * 1000))
        claim = (
            "CLAIM",
            [self.entry_key(key), self.lock_key(key)],
            [lock_token or "", lock_ms, seen, "1" if compare else "0"],
        )
        tokens = (
            "TOKENS",
            [self.seq_key, *(self.tag_prefix + tag for tag in tags)],
            [lock_ms, self.now_seed(), self.new_token()],
        )
        entry_slot = self._cluster.keyslot(claim[1][0])
        got = self._run((entry_slot, [claim]), (self.tag_slot, [tokens]))
        return [-1] if got[0][0] == -1 else [got[0][0], *got[1][0]]

    # ------------------------------------------------------------------ writes

    def write(
        self,
        key: str,
        value: Any,
        *,
        stamp: Sequence[tuple[str, Any]],
        dynamic: Sequence[str],
        seq: int,
        ttl: float | None,
        lock_token: str | None,
        duration: float = 0.0,
    ) -> bool:
        conf = get_settings()
        static = "\n".join(f"{tag}\n{_text(token)}" for tag, token in stamp)
        fresh_until = 0 if ttl is None else int((time.time() + ttl) * 1000)
        entry_ms = _ms(None if ttl is None else ttl + conf.STALE_TTL)
        check = (
            "STAMP",
            [self.seq_key],
            [
                self.tag_prefix,
                seq,
                self.new_token(),
                _ms(conf.LOCK_TIMEOUT),
                int(time.time() * 1000),
                entry_ms,
                len(stamp),
                *(tag for tag, _ in stamp),
                *dynamic,
            ],
        )
        entry_key, lock_key = self.entry_key(key), self.lock_key(key)
        entry_slot = self._cluster.keyslot(entry_key)
        body = self._encode(value)

        def put(parts: Sequence[str]) -> tuple:
            head = f"{fresh_until}\t{int(duration * 1000)}\t" + "\n".join(parts)
            entry = head.encode() + b"\0" + body
            return ("MARK", [entry_key, lock_key], ["E", entry, entry_ms, lock_token or ""])

        if not dynamic:  # nothing to decide on the tag node: both steps at once
            self._run((self.tag_slot, [check]), (entry_slot, [put([static] if static else [])]))
            return True
        self._learn(key, dynamic)
        fresh, *tokens = self._run((self.tag_slot, [check]))[0][0]
        if not fresh:
            if lock_token:
                self._run((entry_slot, [("RELEASE", [lock_key], [lock_token])]))
            return False
        # A bump from here on replaces a token this entry carries: it never validates.
        dyn = [f"{tag}\n{_text(token)}" for tag, token in zip(dynamic, tokens, strict=True)]
        self._run((entry_slot, [put([static, *dyn] if static else dyn)]))
        return True

    def mark(self, key: str, field: str, value: str, ttl: float | None, lock_token: str | None):
        keys = [self.entry_key(key), self.lock_key(key)]
        args = [field.upper(), value, _ms(ttl), lock_token or ""]
        self._run((self._cluster.keyslot(keys[0]), [("MARK", keys, args)]))

    def release(self, key: str, lock_token: str) -> None:
        lock_key = self.lock_key(key)
        self._run((self._cluster.keyslot(lock_key), [("RELEASE", [lock_key], [lock_token])]))

    def delete(self, key: str) -> None:
        entry_key = self.entry_key(key)
        self._exchange((self._cluster.keyslot(entry_key), [("DEL", entry_key)]))

    def bump(
        self, tags: Sequence[str], hold: float = 0.0, release: int = 0, until: int = 0
    ) -> None:
        """``BUMP`` on the tag node, one atomic script as on a single Redis."""
        if not tags:
            return
        keys = [self.seq_key, self.bumped_key, *(self.tag_prefix + t for t in dict.fromkeys(tags))]
        args = [
            secrets.token_hex(8),
            self.now_seed(),
            repr(time.time()),
            self.tag_prefix,
            (until or hold_end(hold)) if hold else 0,
            int(release),  # end holds that end by then (epoch ms; 0: none)
        ]
        conf = get_settings()
        if not conf.WAIT_REPLICAS:
            self._run((self.tag_slot, [("BUMP", keys, args)]))
            return
        # Acknowledged by the tag node's replicas in the same round trip, or not landed
        # (kept pending): a replica promoted without it would bring the old tokens back.
        wait = ("WAIT", conf.WAIT_REPLICAS, _ms(conf.WAIT_TIMEOUT))
        got = self._exchange((self.tag_slot, [self._evalsha("BUMP", keys, args), wait]))[0]
        if isinstance(got[0], NoScriptError):
            load = ("SCRIPT", "LOAD", self._scripts["BUMP"].script)
            got = self._exchange((self.tag_slot, [load, self._evalsha("BUMP", keys, args), wait]))
            got = got[0][1:]
        for reply in got:
            if isinstance(reply, ResponseError):
                raise reply
        if got[-1] < conf.WAIT_REPLICAS:
            raise NotReplicated(
                f"a bump reached {got[-1]} of {conf.WAIT_REPLICAS} replicas within "
                f"{conf.WAIT_TIMEOUT} s (SMARTCACHE['WAIT_REPLICAS'])"
            )

    def bump_times(self, tags: Sequence[str]) -> dict[str, float]:
        if not tags:
            return {}
        found = self._exchange((self.tag_slot, [("HMGET", self.bumped_key, *tags)]))[0][0]
        return {tag: float(when) for tag, when in zip(tags, found, strict=True) if when}

    def add_stats(
        self,
        counts: dict[str, int],
        recent: dict[str, int] | None = None,
        bucket: int = 0,
        keep: int = 0,
    ) -> None:
        commands = [("HINCRBY", self.stats_key, f, n) for f, n in counts.items()]
        if recent:  # the bucket is in the tag slot too: one node, one round trip
            bucket_key = self.bucket_key(bucket)
            commands += [("HINCRBY", bucket_key, f, n) for f, n in recent.items()]
            commands.append(("EXPIRE", bucket_key, keep))
        if commands:
            self._exchange((self.tag_slot, commands))

    def bucket_key(self, bucket: int) -> str:
        return self._make_key(f"{self._body}:stats:{bucket}{{{self._body}}}")

    def read_stats(self, fields: Sequence[str]) -> dict[str, int]:
        found = self._exchange((self.tag_slot, [("HGETALL", self.stats_key)]))[0][0]
        return sum_hashes([found])

    def read_recent(self, buckets: Sequence[int], fields: Sequence[str]) -> dict[str, int]:
        commands = [("HGETALL", self.bucket_key(bucket)) for bucket in buckets]
        return sum_hashes(self._exchange((self.tag_slot, commands))[0])


def _check_node(connection: Any, store: ClusterStore) -> None:
    """The tag node answers for the tokens (``GENERATION``); any other node for its
    entries (``NODE``): a node that lost writes makes every entry stale."""
    tag = store._cluster.nodes_manager.get_node_from_slot(store.tag_slot)
    if (connection.host, int(connection.port)) == (tag.host, int(tag.port)):
        # MOVED: the map is stale; failing this connection makes the caller read it again.
        server_identity.check(connection, store, moved_ok=False)
    else:
        server_identity.check_entry_node(connection, store)


def _escape(prefix: str) -> str:
    return prefix.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def layout_problem(make_key: Any, prefix: str) -> str:
    """Why the cache's keys (``make_key``: its ``KEY_PREFIX``, ``KEY_FUNCTION``) would
    break the cluster layout, or ``""``: the tag keys must share one hash slot, and an
    entry its lock's (a brace the cache puts first opens a hash tag of its own)."""
    body = _escape(prefix)
    slot = "{" + body + "}"
    tags = [f"{body}:seq{slot}", f"{body}:bumped{slot}", f"{body}:v:{slot}g", f"{body}:v:{slot}x"]
    pairs = [(f"{body}:e:{k}{{{_spread(k)}}}", f"{body}:l:{k}{{{_spread(k)}}}") for k in "ab"]
    slots = {key_slot(str(make_key(key)).encode()) for key in tags}
    if len(slots) == 1 and all(
        key_slot(str(make_key(e)).encode()) == key_slot(str(make_key(lock)).encode())
        for e, lock in pairs
    ):
        return ""
    return (
        f"The cache's keys (for example {str(make_key(tags[0]))!r}) carry a '{{' that opens "
        "a Redis Cluster hash tag of their own: the tag keys of django_smartcache would fall "
        "in several slots (every bump and hit failing with CROSSSLOT). Remove the brace from "
        "the cache's KEY_PREFIX (or KEY_FUNCTION), or close it there: '{tenant}'."
    )


def _spread(key: str) -> str:
    """The hash tag that spreads entries over the slots: 8 hex digits of the key."""
    return f"{zlib.crc32(key.encode()):08x}"
