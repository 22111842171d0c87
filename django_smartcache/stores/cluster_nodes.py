"""Commands to several Redis Cluster nodes at once: all sent, then all replies read.

This is the cluster store's I/O, below redis-py's cluster pipeline (which costs about
twice the Python of a hit): redis-py's ``RedisCluster`` says which node serves a slot and
owns the nodes' connection pools; here each thread keeps one connection per node checked
out (taking one from a pool and giving it back costs a readiness check, a syscall, and
locking each time), writes each node's commands in one send, and reads the replies only
once every node has its commands. Two nodes then cost one round trip of wall time.

A connection that failed is dropped (as redis-py does) and the slot map read again (at
a bounded rate): a failed node, a replica promoted, a slot moved. The caller's next
operation goes to the node the cluster names then.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import AskError, ClusterDownError, ResponseError, TryAgainError

from .redis_store import _Held, _orphans, _release_orphans

_REFRESH_EVERY = 0.2  # seconds: at most this often, a failure makes us re-read the slots
_TOPOLOGY_ERRORS = (AskError, ClusterDownError, TryAgainError)  # MOVED is an AskError


class NodeExchange:
    """Sends to the nodes of ``cluster`` (a ``redis.cluster.RedisCluster``) by slot.

    ``on_pool(slot, pool)`` runs each time a slot's pool is looked up, before any
    connection of it is used (the store installs its server-identity check there).
    """

    def __init__(self, cluster: Any, on_pool: Callable[[int, Any], None]) -> None:
        self.cluster = cluster
        self._on_pool = on_pool
        self._held = threading.local()  # per thread: {id(pool): _Held}
        self._refreshed = 0.0

    def pool(self, slot: int) -> Any:
        node = self.cluster.nodes_manager.get_node_from_slot(slot)
        pool = self.cluster.get_redis_connection(node).connection_pool
        self._on_pool(slot, pool)
        return pool

    def refresh(self) -> None:
        """Read the slots again (a node failed, or a slot moved), at a bounded rate."""
        now = time.monotonic()
        if now - self._refreshed < _REFRESH_EVERY:
            return
        self._refreshed = now
        with contextlib.suppress(Exception):  # the next operation fails and tries again
            self.cluster.nodes_manager.initialize()

    def _connection(self, pool: Any) -> Any:
        held_by_pool = self._held.__dict__.setdefault("by_pool", {})
        held = held_by_pool.get(id(pool))
        if held is None or held.conn is None or held.pool is not pool or held.pid != os.getpid():
            held = held_by_pool[id(pool)] = _Held(pool)
        return held.conn

    def _drop(self, pool: Any) -> None:
        held = self._held.__dict__.setdefault("by_pool", {}).pop(id(pool), None)
        if held is not None and held.conn is not None:
            held.conn.disconnect()  # dropped, as redis-py does
            held.give_back()

    def exchange(self, *sends: tuple[int, Sequence[Sequence[Any]]]) -> list[list[Any]]:
        """Send each ``(slot, commands)`` to its node, all before reading any reply.

        Commands for one node go out in one write. Returns the replies per send; an
        error reply is returned as the exception (the connection is fine), except a
        topology error (MOVED, ASK, CLUSTERDOWN, TRYAGAIN), raised once all are read;
        a failed connection is dropped and its error raised once all are read.
        """
        if _orphans:
            _release_orphans()
        pools: dict[int, Any] = {}
        plan = []  # (pool id, commands) per send
        for slot, commands in sends:
            pool = self.pool(slot)
            pools[id(pool)] = pool
            plan.append((id(pool), commands))
        failed: BaseException | None = None
        conns: dict[int, Any] = {}
        dead: set[int] = set()
        try:
            for pid, pool in pools.items():
                conns[pid] = self._connection(pool)
            for pid, conn in conns.items():
                packed = [cmd for p, cmds in plan if p == pid for cmd in cmds]
                try:
                    conn.send_packed_command(conn.pack_commands(packed))
                except BaseException as exc:
                    dead.add(pid)
                    failed = failed or exc
            out = []
            for pid, commands in plan:
                replies: list[Any] = []
                for _ in commands:
                    if pid in dead:
                        replies.append(None)
                        continue
                    try:
                        replies.append(conns[pid].read_response())
                    except ResponseError as exc:
                        replies.append(exc)
                    except BaseException as exc:
                        dead.add(pid)
                        failed = failed or exc
                        replies.append(None)
                out.append(replies)
        except BaseException as exc:  # no connection, or interrupted: drop them all
            dead.update(pools)
            failed = failed or exc
        for pid in dead:
            self._drop(pools[pid])
        if failed is not None:
            self.refresh()
            raise failed
        for replies in out:
            for reply in replies:
                if isinstance(reply, _TOPOLOGY_ERRORS):
                    self.refresh()
                    raise reply
        return out
