"""A Sentinel deployment the tests start themselves: a master, one replica, three sentinels.

Every process runs on a free local port with its files in the test's tmp dir, and is
stopped by the PID this module started (never by name). The sentinels monitor the
master as ``mymaster`` with quorum 2 and a short ``down-after-milliseconds``; their
internal periods are shortened with ``SENTINEL DEBUG`` (Redis 7) so that discovery,
and the demotion of the old master after a failover, take a second rather than ten.
``cache_via_sentinel`` points the ``default`` alias at it the way django-redis
documents Sentinel.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from tests.conftest import _missing_service
from tests.redis_servers import RedisServer, _free_port, wait_until_up

SERVICE = "mymaster"
SOCKET_TIMEOUT = 0.5  # above WAIT_TIMEOUT: a WAIT must not look like a dead server
# SENTINEL DEBUG periods (ms). publish-period * 4 is how long a sentinel leaves a demoted
# master that still says "master" alone before it reconfigures it (8 s by default).
# Faster than the defaults, but not the publish period: a sentinel converts a server that
# claims to be a master against its config after 4 publish periods, and learns a new
# config by the others' hellos, sent once a period. At 250 ms, a sentinel that had not yet
# heard of the failover turned the new master back into a replica 1 s after its promotion
# (seen in CI-like runs: the old master then stayed master). 1000 ms leaves 4 s.
DEBUG_PERIODS = {"info-period": 100, "ping-period": 100, "publish-period": 1000}


class SentinelProcess:
    """One ``redis-server --sentinel`` with its own (rewritable) config file."""

    def __init__(self, executable: str, workdir: Path, master_port: int) -> None:
        self.port = _free_port()
        self.workdir = workdir
        workdir.mkdir()
        self.config = workdir / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            "daemonize no\n"
            f'dir "{workdir}"\n'
            f'logfile "{workdir / "sentinel.log"}"\n'
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2\n"
            # The failover is asked for (SENTINEL FAILOVER), never detected: a long
            # down-after keeps a server that stalls for a second on a loaded machine (the
            # new master, while it serves its first full sync) from a second, unasked-for
            # failover back (seen once in ~150 runs with 1000 ms).
            f"sentinel down-after-milliseconds {SERVICE} 5000\n"
            f"sentinel failover-timeout {SERVICE} 3000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self.process = subprocess.Popen(
            [executable, str(self.config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(self.process, self.port)
        self.client = redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)
        self.client.execute_command(
            "SENTINEL", "DEBUG", *(str(x) for pair in DEBUG_PERIODS.items() for x in pair)
        )

    def master(self) -> dict:
        return self.client.execute_command("SENTINEL", "MASTER", SERVICE)

    def master_port(self) -> int:
        _, port = self.client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return int(port)

    def kill(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


class SentinelCluster:
    """``master`` replicated by ``replica``, watched by three sentinels (quorum 2)."""

    def __init__(self, executable: str, workdir: Path, server_args: tuple[str, ...] = ()):
        self.executable = executable
        self.workdir = workdir
        # No 5 s wait before a full sync (the default with diskless sync): the replica,
        # and the old master once demoted, sync at once.
        self.server_args = ("--repl-diskless-sync-delay", "0", *server_args)
        self.master: RedisServer | None = None
        self.replica: RedisServer | None = None
        self.sentinels: list[SentinelProcess] = []

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def start(self) -> None:
        for name in ("master", "replica"):
            (self.workdir / name).mkdir()
        self.master = RedisServer(self.executable, str(self.workdir / "master"))
        self.master.start(*self.server_args)
        self.replica = RedisServer(self.executable, str(self.workdir / "replica"))
        self.replica.start(*self.server_args, "--replicaof", "127.0.0.1", str(self.master.port))
        for i in range(3):
            path = self.workdir / f"sentinel{i}"
            self.sentinels.append(SentinelProcess(self.executable, path, self.master.port))
        self.wait(self._ready, "the sentinels never saw the replica and each other")

    def _ready(self) -> bool:
        if info(self.replica).get("master_link_status") != "up":
            return False
        for sentinel in self.sentinels:
            state = sentinel.master()
            if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                return False
            replicas = sentinel.client.execute_command("SENTINEL", "REPLICAS", SERVICE)
            if not any(r["master-link-status"] == "ok" for r in replicas):
                return False
        return True

    def failover(self, on_promoted: Callable[[], object] | None = None) -> tuple[float, float]:
        """``SENTINEL FAILOVER``; seconds until the sentinels name the replica the master
        (then ``on_promoted()`` runs), and until the old master has become its replica (the
        split brain, where both accept writes, is over)."""
        started = time.monotonic()
        named = lambda: all(s.master_port() == self.replica.port for s in self.sentinels)  # noqa: E731
        # A sentinel that has not yet seen the replica as a good one answers NOGOODSLAVE
        # (or starts nothing): ask again every few seconds, up to 30 s in all.
        while True:
            # INPROG (already under way) or NOGOODSLAVE (not yet): wait, then ask again.
            with contextlib.suppress(redis.ResponseError):
                self.sentinels[0].client.execute_command("SENTINEL", "FAILOVER", SERVICE)
            try:
                self.wait(named, "the sentinels never named the replica the master", 4.0)
                break
            except AssertionError:
                if time.monotonic() - started > 30:
                    raise AssertionError(
                        "the sentinels never named the replica the master\n" + self.sentinel_logs()
                    ) from None
        promoted = time.monotonic() - started
        if on_promoted is not None:
            on_promoted()
        # The sentinels reconfigure the old master, then it resyncs from the new one: a
        # few seconds, longer on a loaded machine (a CI run once took more than 15 s).
        self.wait(
            lambda: (
                info(self.master).get("role") == "slave"
                and info(self.master).get("master_link_status") == "up"
            ),
            "the old master was never turned into a replica",
            timeout=45.0,
            diagnose=self.sentinel_logs,
        )
        return promoted, time.monotonic() - started

    @staticmethod
    def wait(condition, message: str, timeout: float = 15.0, diagnose=None) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{message}\n{diagnose() if diagnose else ''}")
            time.sleep(0.05)

    def sentinel_logs(self) -> str:
        """The end of each sentinel's and server's log, and the servers' replication
        state, for a failure message."""
        sentinels = [
            f"--- sentinel {s.port}:\n"
            + "".join((s.workdir / "sentinel.log").open().readlines()[-25:])
            for s in self.sentinels
        ]
        servers = [
            f"--- server {name} {server.port}: {_replication(server)}\n{server.log_tail()}"
            for name, server in (("first master", self.master), ("first replica", self.replica))
        ]
        return "\n".join([*sentinels, *servers])

    def stop(self) -> None:
        """Kill every process this cluster started, by PID, whatever state it is in."""
        for process in [*self.sentinels, self.replica, self.master]:
            if process is not None:
                process.kill()


def _replication(server: RedisServer) -> dict:
    found = info(server)
    keys = ("role", "master_port", "master_link_status", "master_sync_in_progress")
    return {k: found.get(k) for k in keys}


def info(server: RedisServer) -> dict:
    client = redis.Redis(port=server.port, socket_timeout=2, decode_responses=True)
    try:
        return client.info()
    except redis.RedisError:
        return {}
    finally:
        client.close()


@pytest.fixture
def sentinel_cluster(real_redis, tmp_path, request):
    """A started ``SentinelCluster``; ``request.param`` (if parametrized) are extra
    ``redis-server`` arguments for the master and the replica."""
    executable = shutil.which("redis-server")
    if executable is None:
        _missing_service("needs the redis-server executable on PATH (it runs sentinels too)")
    cluster = SentinelCluster(executable, tmp_path, tuple(getattr(request, "param", ())))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        _forget_pools()


def _forget_pools() -> None:
    """django-redis keeps pools per process keyed by URL only ("redis://mymaster/0?..."):
    drop ours, or the next cluster's cache would reuse this one's (dead) sentinels."""
    from django_redis.pool import ConnectionFactory

    for url in [u for u in ConnectionFactory._pools if u.startswith(f"redis://{SERVICE}/")]:
        ConnectionFactory._pools.pop(url).disconnect()


def sentinel_cache(cluster: SentinelCluster, db: int = 0) -> dict:
    """A ``CACHES`` entry through the cluster's sentinels, as django-redis documents it."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://{SERVICE}/{db}",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": cluster.addresses,
            "SOCKET_CONNECT_TIMEOUT": SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": SOCKET_TIMEOUT,
        },
    }


def cache_via_sentinel(cluster: SentinelCluster) -> override_settings:
    """``default`` through the cluster's sentinels; the other aliases unchanged."""
    _forget_pools()
    return override_settings(CACHES={**settings.CACHES, "default": sentinel_cache(cluster)})
