"""Notice when Redis is not the server that acknowledged the bumps.

A restart from a snapshot, a failover to a replica, an empty restart: the tokens and
entries may then be older than bumps that Redis acknowledged, and old entries would
validate against old tokens. Every such event ends the clients' connections, or puts
them on another server, so the check runs when a connection is made, never per hit:
the new connection asks ``INFO server`` for the server's ``run_id`` and runs one
script (``GENERATION``) that compares it with the ``run_id`` recorded in Redis. When
they differ (or none is recorded), the script records the new one and bumps the
global tag: every entry is stale before the next hit is served. The first process to
connect does it; the others find the ``run_id`` already recorded. A ``FLUSHALL``
needs nothing (no entry or token survives it): a process that has talked to this very
server before takes a missing record for a flush (or an eviction) and records it
again; a process that has not (a new one) bumps, to be safe. Not seen: ``DEBUG
RELOAD``, which rolls the data back without ending connections.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from redis.exceptions import AskError, ResponseError

from . import local, scripts

logger = logging.getLogger("django_smartcache")

# A server whose INFO has no run_id (fakeredis) is not checked: it cannot restart
# behind our back.

_seen: set[str] = set()  # run_ids this process has talked to


def watch(store: Any, pool: Any = None, checker: Any = None) -> None:
    """Check the server behind ``store`` (on a cluster: ``pool``, one node's) on every
    connection made from now on (no I/O), with ``checker(connection, store)`` (default
    :func:`check`)."""
    checker = checker or check
    if pool is None:
        pool = store._client.get_client(write=True).connection_pool
    kwargs = pool.connection_kwargs
    previous = kwargs.get("redis_connect_func")
    if getattr(previous, "smartcache_store", None) is store:
        return
    # A store made again (settings changed) replaces its predecessor's hook; the pool's
    # connections were checked by that one already.
    first = not hasattr(previous, "smartcache_store")
    previous = getattr(previous, "smartcache_previous", previous)

    def on_connect(connection: Any) -> None:
        if previous is not None:
            previous(connection)
        else:
            connection.on_connect()
        checker(connection, store)

    on_connect.smartcache_store = store  # type: ignore[attr-defined]
    on_connect.smartcache_previous = previous  # type: ignore[attr-defined]
    kwargs["redis_connect_func"] = on_connect
    # A connection object keeps the connect function it was made with: those made before
    # this (the cache used by other code, a cluster client finding its nodes) get ours,
    # and the idle ones reconnect, so that they too check before they are read through.
    for connection in [
        *getattr(pool, "_available_connections", ()),
        *getattr(pool, "_in_use_connections", ()),
    ]:
        if hasattr(connection, "redis_connect_func"):
            connection.redis_connect_func = on_connect
    if first:
        pool.disconnect(inuse_connections=False)


def check(connection: Any, store: Any, moved_ok: bool = True) -> bool:
    """Run the comparison on ``connection``; whether the global tag was bumped.

    ``moved_ok=False`` (the cluster store, which asks only the node its slot map names)
    raises MOVED: the map is stale and the node's identity is not checked yet."""
    try:
        connection.send_command("INFO", "server")
        info = connection.read_response()
    except ResponseError:
        return False  # no INFO (fakeredis): nothing to compare
    run_id = _run_id(info)
    if not run_id:
        return False
    keys = [store.server_key, store.seq_key, store.tag_prefix + "g", store.bumped_key]
    seen = "1" if run_id in _seen else "0"
    args = [run_id, secrets.token_hex(8), store.now_seed(), repr(time.time()), seen]
    connection.send_command("EVAL", scripts.GENERATION, len(keys), *keys, *args)
    try:
        changed = connection.read_response() == 1
    except AskError:
        # A cluster node that no longer serves the tag slot (MOVED): not the tag node.
        if not moved_ok:
            raise
        return False
    _seen.add(run_id)
    if changed:
        local.clear_all()
        logger.warning(
            "Redis for cache %r is a new server (run_id %s): a restart, a failover or a "
            "first start. Every cached entry was made stale, since bumps acknowledged by "
            "the previous one may be missing here.",
            store.alias,
            run_id,
        )
    return changed


def check_entry_node(connection: Any, store: Any) -> bool:
    """On a cluster, for a node that is not the tag node: whether the global tag was bumped
    because the node's identity (``run_id`` and replication id: a restart, a replica
    promoted) is not one whose entries are known. Its entries may then predate deletes
    that were acknowledged (``fn.invalidate(*args)``); tokens do not catch those.

    Recorded on the tag node (``NODE``) over a connection of its own, before anything is
    read through ``connection``; any failure fails the connection.
    """
    try:
        connection.send_command("INFO", "server")
        info = connection.read_response()
        connection.send_command("INFO", "replication")
        replication = connection.read_response()
    except ResponseError:
        return False  # no INFO (fakeredis): nothing to compare
    run_id = _run_id(info)
    if not run_id:
        return False
    identity = f"{run_id}:{_run_id(replication, 'master_replid')}"
    keys = [store.nodes_key, store.seq_key, store.tag_prefix + "g", store.bumped_key]
    seen = "1" if identity in _seen else "0"
    args = [identity, secrets.token_hex(8), store.now_seed(), repr(time.time()), seen]
    tag_node = store.tag_connection()
    try:
        tag_node.send_command("EVAL", scripts.NODE, len(keys), *keys, *args)
        changed = tag_node.read_response() == 1
    finally:
        tag_node.disconnect()
    _seen.add(identity)
    if changed:
        logger.warning(
            "Redis Cluster node %s:%s for cache %r is a new server (%s): a restart, a "
            "failover or a first start. Every cached entry was made stale, since deletes "
            "acknowledged by the previous one may be missing there.",
            connection.host,
            connection.port,
            store.alias,
            identity,
        )
    return changed


def _run_id(info: Any, field: str = "run_id") -> str:
    if isinstance(info, dict):
        return str(info.get(field, ""))
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return line.split(":", 1)[1].strip()
    return ""
