"""A local Redis Cluster the tests start themselves: 3 masters (and replicas), stopped by PID.

``LocalCluster`` starts ``redis-server --cluster-enabled yes`` processes on free local
ports (each with its cluster bus on a second free port), joins them with
``redis-cli --cluster create``, and waits until every node reports ``cluster_state:ok``.
Nothing is persisted; each node works in a temporary directory.
Run as ``python -m tests.redis_cluster`` it starts one, prints its nodes and waits for
Enter (to try things by hand).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time

import redis

from tests.redis_processes import _free_port, wait_until_up


class LocalCluster:
    """``masters`` masters with ``replicas`` replicas each, on 127.0.0.1."""

    def __init__(self, masters: int = 3, replicas: int = 0, workdir: str | None = None) -> None:
        self.executable = shutil.which("redis-server")
        self.cli = shutil.which("redis-cli")
        if self.executable is None or self.cli is None:
            raise RuntimeError("needs redis-server and redis-cli on PATH")
        self.masters, self.replicas = masters, replicas
        self.workdir = workdir or tempfile.mkdtemp(prefix="smartcache-cluster-")
        self.ports: list[int] = []
        self.processes: dict[int, subprocess.Popen] = {}
        self.bus_ports: dict[int, int] = {}  # node port: its cluster bus port

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.ports]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> LocalCluster:
        for _ in range(self.masters * (1 + self.replicas)):
            self._start_node(_free_port())
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        command = [self.cli, "--cluster", "create", *nodes, "--cluster-yes"]
        command += ["--cluster-replicas", str(self.replicas)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout}{done.stderr}")
        self.wait_ok()
        self.wait_synced()
        return self

    def wait_synced(self, timeout: float = 30.0) -> None:
        """Until every running replica's link to its master is up (it can take over)."""
        deadline = time.monotonic() + timeout
        while True:
            states = []
            for port in self.ports:
                if self.processes[port].poll() is None:
                    with self.client(port) as node:
                        states.append(node.info("replication"))
            if all(
                s.get("role") == "master" or s.get("master_link_status") == "up" for s in states
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replicas did not sync within {timeout} s")
            time.sleep(0.05)

    def _start_node(self, port: int) -> None:
        command = [
            self.executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            str(self.bus_ports.setdefault(port, _free_port())),
            "--cluster-config-file",
            f"nodes-{port}.conf",
            "--cluster-node-timeout",
            "2000",
            "--save",
            "",
            "--appendonly",
            "no",
            # Each node its own snapshot file (SAVE by hand, then ``restart``: a rollback).
            "--dbfilename",
            f"dump-{port}.rdb",
            # Replicas sync at once (not 5 s later): until one has synced, it cannot
            # take over (its data counts as too old).
            "--repl-diskless-sync-delay",
            "0",
            "--daemonize",
            "no",
            "--dir",
            self.workdir,
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_up(process, port)
        self.ports.append(port)
        self.processes[port] = process

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2)

    def info(self, port: int) -> dict[str, str]:
        with self.client(port) as node:
            text = node.execute_command("CLUSTER", "INFO")
        if isinstance(text, bytes):
            text = text.decode()
        if isinstance(text, dict):
            return {k: str(v) for k, v in text.items()}
        return dict(line.split(":", 1) for line in text.split() if ":" in line)

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every running node says ``cluster_state:ok`` and knows every live node."""
        deadline = time.monotonic() + timeout
        live = [p for p in self.ports if self.processes[p].poll() is None]
        while True:
            try:
                states = [self.info(port) for port in live]
                if all(s.get("cluster_state") == "ok" for s in states):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not become ok within {timeout} s")
            time.sleep(0.05)

    def master_ports(self) -> list[int]:
        """The ports of the nodes that are masters now."""
        found = []
        for port in self.ports:
            if self.processes[port].poll() is not None:
                continue
            with self.client(port) as node:
                if node.info("replication").get("role") == "master":
                    found.append(port)
        return found

    def restart(self, port: int) -> None:
        """Kill node ``port`` and start it again on the same port, config and snapshot
        (what it last ``SAVE``d comes back: a restart from disk)."""
        self.kill(port)
        self.ports.remove(port)
        self._start_node(port)
        self.wait_ok()

    def replica_of(self, master: int) -> int:
        """The port of a running replica of the master on ``master``."""
        for port in self.ports:
            if port == master or self.processes[port].poll() is not None:
                continue
            with self.client(port) as node:
                found = node.info("replication")
            if found.get("role") == "slave" and int(found.get("master_port", 0)) == master:
                return port
        raise AssertionError(f"no replica of {master}")

    def kill(self, port: int) -> None:
        """SIGKILL one node we started."""
        process = self.processes[port]
        if process.poll() is None:
            process.kill()
            process.wait(5)

    def stop(self) -> None:
        """Kill every node we started (by PID) and remove the working directory."""
        for port in list(self.processes):
            self.kill(port)
        shutil.rmtree(self.workdir, ignore_errors=True)


_sessions: dict[str, LocalCluster] = {}


def session_cluster_url(name: str = "default", replicas: int = 1) -> str:
    """The startup URL of this process's cluster ``name`` for the whole test run (started
    on first use, stopped by PID when the process exits)."""
    if name not in _sessions:
        import atexit

        _sessions[name] = LocalCluster(replicas=replicas).start()
        atexit.register(_sessions[name].stop)
    return _sessions[name].url


def session_cluster(name: str = "default") -> LocalCluster | None:
    """The cluster ``session_cluster_url`` started under ``name``, if any."""
    return _sessions.get(name)


if __name__ == "__main__":  # pragma: no cover - a manual tool
    cluster = LocalCluster(replicas=1).start()
    try:
        print("cluster up:", " ".join(f"127.0.0.1:{p}" for p in cluster.ports))
        input("Enter stops it. ")
    finally:
        cluster.stop()


def key_elsewhere(store) -> str:
    """A cache key whose entry lives on another node than ``store``'s tags (a cluster store)."""
    tag_node = store._cluster.get_node_from_key(store.seq_key).name
    for i in range(1000):
        if store._cluster.get_node_from_key(store.entry_key(f"k{i}")).name != tag_node:
            return f"k{i}"
    raise AssertionError("every entry key fell on the tag node")
