"""Redis processes on free local ports, stopped by PID: no pytest, no Django, so the
benchmarks (bench/cluster.py, bench/cluster_throughput.py) can start them too.

``RedisServer`` runs one ``redis-server`` (optionally with RDB persistence, so that it can
restart from a snapshot); ``tests/redis_servers.py`` gives each test its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(process: subprocess.Popen, port: int) -> None:
    """Return once ``process`` answers PING on ``port``; raise if it exits or takes 10 s."""
    client = redis.Redis(port=port, socket_timeout=0.2, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{process.args[0]} did not start on port {port}") from None
                time.sleep(0.02)
    finally:
        client.close()


class RedisServer:
    """One ``redis-server`` subprocess on a fixed port, restartable on that port."""

    def __init__(self, executable: str, workdir: str) -> None:
        self.executable = executable
        self.workdir = workdir
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def logfile(self) -> str:
        return os.path.join(self.workdir, "redis.log")

    def log_tail(self, lines: int = 25) -> str:
        """The end of the server's log (for a failure message)."""
        try:
            with open(self.logfile) as log:
                return "".join(log.readlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def start(self, *extra: str) -> None:
        """Start (or restart) on the same port; an ``dump.rdb`` in the workdir is loaded."""
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        command += ["--dir", self.workdir, "--logfile", self.logfile, *extra]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until_up(self.process, self.port)

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted, replies never come (socket timeouts)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def snapshot(self) -> None:
        """Write ``dump.rdb`` now (what a restart will come back to)."""
        client = redis.Redis(port=self.port, socket_timeout=5)
        try:
            client.save()
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the server we started: no save on the way out."""
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.process.kill()
            self.process.wait(5)
