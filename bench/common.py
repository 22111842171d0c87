"""Shared pieces of the benchmark suite: configuration, machine facts, servers, wrk, Redis counts.

Everything here targets 127.0.0.1 only. Every server is started by ``Server`` and stopped by its
PID (SIGTERM, then SIGKILL after a grace period); every load is bounded in time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
SCRATCH = BENCH / ".tmp"  # gitignored

# Databases of the shared Redis reserved for the benchmarks: 9 for smartcache, 10 for Django's
# own cache_page. Both are flushed by the suite; nothing else is touched.
DEFAULTS = {
    "BENCH_DATABASE_URL": "mysql://root@127.0.0.1:3306/smartcache_bench",
    "BENCH_REDIS_URL": "redis://127.0.0.1:6379/9",
    "BENCH_DJANGO_REDIS_URL": "redis://127.0.0.1:6379/10",
}
PORTS = {
    "throughput": 8801,
    "stampede": 8802,
    "profile": 8803,
    "cluster_standalone": 8804,
    "cluster": 8805,
    "local": 8806,
}
SLUG = "laptop"
PAGE = f"/products/{SLUG}/"
VARIANTS = {
    # name: (label, path). Sibling URL patterns, so each costs the same to resolve.
    "uncached": ("uncached", f"/bench/uncached/products/{SLUG}/"),
    "django": ("Django cache_page", f"/bench/django/products/{SLUG}/"),
    "smartcache": ("smartcache HIT", f"/bench/smartcache/products/{SLUG}/"),
    "one_get": ("one raw GET (reference)", f"/bench/one-get/products/{SLUG}/"),
    "constant": ("constant view (ceiling)", f"/bench/constant/products/{SLUG}/"),
}


def say(message: str) -> None:
    print(f"--> {message}", flush=True)


def env_setting(name: str) -> str:
    return os.environ.get(name, "").strip() or DEFAULTS[name]


def bench_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of the benchmark servers (and of this process's Django)."""
    env = dict(os.environ)
    for name in DEFAULTS:
        env[name] = env_setting(name)
    # The demo settings read these too; point them at the bench services, never at fakeredis.
    env["DATABASE_URL"] = env["BENCH_DATABASE_URL"]
    env["REDIS_URL"] = env["BENCH_REDIS_URL"]
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    env["DJANGO_DEBUG"] = "0"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("BENCH_CONSTANT_BODY", str(SCRATCH / "product-page.html"))
    env.update(extra or {})
    return env


def redis_db(url: str) -> int:
    match = re.search(r"/(\d+)$", url)
    return int(match.group(1)) if match else 0


# --------------------------------------------------------------------------- numbers


def spread(values: list[float]) -> dict[str, float | None]:
    """min / median / max (the suite's noise summary)."""
    if not values:
        return {"min": None, "median": None, "max": None}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# --------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cmd_version(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


def machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor() or None,
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "os": _os_name(),
        "load_average_at_start": list(os.getloadavg()),
    }


def _os_name() -> str:
    match = re.search(r'^PRETTY_NAME="?([^"\n]+)', _read("/etc/os-release"), re.M)
    return match.group(1) if match else platform.platform()


def versions(redis_client: Any = None, db_connection: Any = None) -> dict[str, Any]:
    from importlib import metadata

    def dist(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    found: dict[str, Any] = {
        "python": sys.version.split()[0],
        **{
            name: dist(name)
            for name in (
                "django",
                "django-redis",
                "redis",
                "hiredis",
                "mysqlclient",
                "gunicorn",
                "matplotlib",
                "django-cacheops",
            )
        },
        "wrk": _cmd_version(["wrk", "--version"]),
        "git": _git_state(),
    }
    if redis_client is not None:
        with contextlib.suppress(Exception):
            found["redis_server"] = redis_client.info("server").get("redis_version")
    if db_connection is not None:
        with contextlib.suppress(Exception), db_connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            found["database_server"] = cursor.fetchone()[0]
    return found


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout

    try:
        # Porcelain lines are "XY path": keep their leading blanks.
        changed = [
            line
            for line in git("status", "--porcelain", "--", "django_smartcache").splitlines()
            if line.strip()
        ]
        return {
            "commit": git("rev-parse", "HEAD").strip(),
            "library_dirty": bool(changed),
            # Uncommitted library changes the run measured (the work tree, not the commit).
            "library_changes": [line[3:] for line in changed],
        }
    except (OSError, subprocess.SubprocessError):
        return {}


# --------------------------------------------------------------------------- CPU accounting


def _proc_jiffies(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _total_busy() -> tuple[int, int]:
    parts = [int(x) for x in _read("/proc/stat").splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def pids_named(*names: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            comm = _read(f"/proc/{entry.name}/comm").strip()
            if comm in names:
                found.append(int(entry.name))
    return found


class CpuMeter:
    """Share of the machine's CPU used by processes outside the measured set during a sample.

    "Ours" are the bench server's processes, wrk, this process, redis-server and mariadbd (the
    services are shared with other users of the machine, so this under-counts foreign load).
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = [*pids, os.getpid(), *pids_named("redis-server", "mariadbd", "mysqld")]

    def __enter__(self) -> CpuMeter:
        self.busy0, self.total0 = _total_busy()
        self.ours0 = sum(_proc_jiffies(p) for p in self.pids)
        self.children0 = os.times().children_user + os.times().children_system
        return self

    def __exit__(self, *exc: Any) -> None:
        busy, total = _total_busy()
        ours = sum(_proc_jiffies(p) for p in self.pids)
        hz = os.sysconf("SC_CLK_TCK")
        children = os.times().children_user + os.times().children_system  # wrk (waited for)
        ours_j = (ours - self.ours0) + (children - self.children0) * hz
        span = max(1, total - self.total0)
        self.busy_pct = 100 * (busy - self.busy0) / span
        self.foreign_pct = max(0.0, 100 * ((busy - self.busy0) - ours_j) / span)


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A gunicorn serving ``bench.wsgi`` on 127.0.0.1:``port``; stop it with ``stop()``."""

    port: int
    args: list[str]
    env: dict[str, str]
    name: str = "gunicorn"
    proc: subprocess.Popen | None = None
    log: Path | None = None

    def start(self, python: str, timeout: float = 30.0) -> Server:
        SCRATCH.mkdir(parents=True, exist_ok=True)
        self.log = SCRATCH / f"{self.name}-{self.port}.log"
        gunicorn = str(Path(python).parent / "gunicorn")
        cmd = [
            gunicorn,
            "bench.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            *self.args,
        ]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log}")
            try:
                get(self.port, "/bench/ping/", timeout=2)
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within {timeout}s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        children = _read(f"/proc/{self.pid}/task/{self.pid}/children").split()
        return [int(p) for p in children]

    def stop(self) -> None:
        """SIGTERM the master by PID (it stops its workers), SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        workers = self.worker_pids()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for pid in workers:  # orphaned workers, if the master was killed
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if Path(f"/proc/{pid}").exists() and "gunicorn" in _read(f"/proc/{pid}/cmdline"):
                    os.kill(pid, signal.SIGKILL)


def get(
    port: int, path: str, *, timeout: float = 10, ok_only: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """GET http://127.0.0.1:``port````path``: (status, headers, body)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        if ok_only:
            raise
        return exc.code, dict(exc.headers.items()), exc.read()


# --------------------------------------------------------------------------- wrk

WRK_SCRIPT = BENCH / "wrk_report.lua"


def ensure_wrk(install: bool) -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        say("wrk is missing: installing the Debian package (apt-get install -y wrk)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "bench: wrk is not installed. Install it with `sudo apt-get install wrk` "
        "(Debian/Ubuntu), or run as root and the suite installs it."
    )


def run_wrk(
    port: int,
    path: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One bounded wrk run; the summary printed by ``wrk_report.lua`` as a dict."""
    extra = [f"-H{name}: {value}" for name, value in (headers or {}).items()]
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(WRK_SCRIPT),
        *extra,
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    match = re.search(r"^BENCH_JSON (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not match:
        raise RuntimeError(
            f"wrk failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}"
        )
    data = json.loads(match.group(1))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


# --------------------------------------------------------------------------- Redis counting


class RoundTrips:
    """Client-side count of Redis round trips in this process, per database.

    One call of redis-py's ``Connection.send_packed_command`` is one round trip: a single
    command, or a whole pipeline. Installed by patching that method in this process only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.trips: list[tuple[int, tuple[str, ...]]] = []
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        import redis.connection

        original = redis.connection.AbstractConnection.send_packed_command
        counter = self

        def send_packed_command(conn, command, check_health=True):
            if not getattr(conn, "_bench_in_handshake", False):
                with counter._lock:
                    counter.trips.append((int(conn.db or 0), _command_names(command)))
            return original(conn, command, check_health)

        original_on_connect = redis.connection.AbstractConnection.on_connect

        def on_connect(conn, *args, **kwargs):
            conn._bench_in_handshake = True
            try:
                return original_on_connect(conn, *args, **kwargs)
            finally:
                conn._bench_in_handshake = False

        redis.connection.AbstractConnection.send_packed_command = send_packed_command
        redis.connection.AbstractConnection.on_connect = on_connect
        self._installed = True

    @contextlib.contextmanager
    def count(self):
        with self._lock:
            start = len(self.trips)
        box: dict[str, Any] = {}
        yield box
        with self._lock:
            taken = self.trips[start:]
        box["trips"] = taken
        box["by_db"] = dict(Counter(db for db, _ in taken))
        box["names"] = [f"db{db}:{'+'.join(names)}" for db, names in taken]


def _command_names(packed: Any) -> tuple[str, ...]:
    """Names of the commands in one packed send, e.g. ``("EVALSHA",)``."""
    try:
        if isinstance(packed, (bytes, bytearray, memoryview, str)):
            packed = [packed]
        data = b"".join(p.encode() if isinstance(p, str) else bytes(p) for p in packed)
        names, pos = [], 0
        while pos < len(data) and data[pos : pos + 1] == b"*":
            end = data.index(b"\r\n", pos)
            nargs, pos = int(data[pos + 1 : end]), end + 2
            for i in range(nargs):
                end = data.index(b"\r\n", pos)
                size = int(data[pos + 1 : end])
                if i == 0:
                    names.append(data[end + 2 : end + 2 + size].decode("ascii", "replace").upper())
                pos = end + 2 + size + 2
        return tuple(names) or ("?",)
    except Exception:
        return ("?",)


_HANDSHAKE = {"SELECT", "CLIENT", "HELLO", "ECHO", "AUTH"}


class Monitor:
    """Server-side view: every command Redis executes on ``dbs`` (scripts' inner calls too).

    Uses MONITOR on its own connection, in a thread, for a bounded time. Lines from inside a
    Lua script are tagged ``lua``; the others are what clients sent.
    """

    def __init__(self, url: str, dbs: set[int]) -> None:
        import redis

        self.dbs = dbs
        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.lines: list[tuple[int, str, str]] = []  # (db, "lua" | "client", command)
        self._stop = f"bench-monitor-stop-{os.getpid()}-{time.time_ns()}"
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Monitor:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("MONITOR did not start")
        time.sleep(0.05)
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + 120
        with self.client.monitor() as monitor:
            self._ready.set()
            while time.monotonic() < deadline:
                try:
                    item = monitor.next_command()
                except Exception:
                    break
                command = item.get("command", "")
                if self._stop in command:
                    break
                db = int(item.get("db", -1))
                name = command.split(" ", 1)[0].upper()
                if name in _HANDSHAKE and item.get("client_type") != "lua":
                    continue  # a new connection's SELECT / CLIENT SETINFO, or our stop ECHO
                if db in self.dbs:
                    kind = "lua" if item.get("client_type") == "lua" else "client"
                    self.lines.append((db, kind, command.split(" ", 1)[0].upper()))

    def __exit__(self, *exc: Any) -> None:
        with contextlib.suppress(Exception):
            self.client.echo(self._stop)
        if self._thread:
            self._thread.join(10)
        self.client.close()

    def summary(self) -> dict[str, Any]:
        client = [c for _, kind, c in self.lines if kind == "client"]
        lua = [c for _, kind, c in self.lines if kind == "lua"]
        return {
            "client_commands": len(client),
            "script_inner_commands": len(lua),
            "client_command_names": dict(Counter(client)),
            "script_inner_command_names": dict(Counter(lua)),
        }


# --------------------------------------------------------------------------- results


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    return path


def today() -> str:
    return dt.date.today().isoformat()


@dataclass
class Run:
    """One run of the suite: its options, where it writes, and what every file repeats."""

    out_dir: Path
    date: str
    smoke: bool
    machine: dict[str, Any]
    versions: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def path(self, what: str, ext: str = "json") -> Path:
        return self.out_dir / f"{self.date}-{what}.{ext}"

    def save(self, what: str, data: dict[str, Any]) -> Path:
        payload = {
            "what": what,
            "date": self.date,
            "smoke": self.smoke,
            "machine": self.machine,
            "versions": self.versions,
            **data,
        }
        path = write_json(self.path(what), payload)
        self.files.append(path.name)
        return path
