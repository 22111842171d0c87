"""Coherence under load across app servers (issue 17's proof harness for the local tier).

Two gunicorn servers (2 sync workers each, ``tests/local_server/``) share the test run's Redis
and database. An editor in this process commits a new laptop price every 100 ms, in turn
through the ORM (``save()``), ``QuerySet.update()`` and the admin (a change-form POST over
HTTP to one of the servers, so that commit happens in another process), and records when each
commit returned. Reader threads request the laptop's price from both servers (a bare
``cache_page`` by pk, whose row is captured, and one by slug that declares it with
``depend_on``) and record when each request was sent. A violation is a response showing a
price older than the newest commit that had returned before its request was sent.

Each run is made with the local tier off (Redis only: it proves the harness) and, once issue 17
has landed, on (``SMARTCACHE["LOCAL"] = {}``); once more with the local tier's invalidation
push connections killed (``CLIENT KILL ID``) in the middle of the load. A memory test churns
10,000 distinct pages through one process with a small ``MAX_BYTES``.

Needs a real Redis, which the servers share with this process: skipped on fakeredis, never
with ``SMARTCACHE_REQUIRE_SERVICES=1``. Any of the suite's databases will do (a SQLite test
database is a file the servers open too).
"""

from __future__ import annotations

import bisect
import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import redis
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings

from tests.testapp.models import Product

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_outbox"),
    pytest.mark.not_on_cluster,  # standalone Redis only (django-redis DefaultClient)
]

ROOT = Path(__file__).resolve().parents[1]
LOAD = 8.0  # seconds of load per run, at least
MAX_LOAD = 16.0  # ... and longer, up to this, until MIN_CHECKED responses were checked
EDIT_EVERY = 0.1
READERS = 8  # threads, half on each server
MIN_CHECKED = 5_000
KILL_AT = (0.5,)  # fractions of LOAD at which the push connections are killed

# The runs with the local tier on (issue 17) and without it (the harness's own check).
LOCAL_TIER = True
REDIS_ONLY = [pytest.param(False, id="redis-only")]
LOCAL_ON = [pytest.param(True, id="local")]
RUNS = REDIS_ONLY + LOCAL_ON


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


class Server:
    """``gunicorn tests.local_server.wsgi`` on a free port of 127.0.0.1, stopped by PID."""

    def __init__(self, name: str, smartcache: dict, log_dir: Path, workers: int = 2) -> None:
        self.name, self.port = name, _free_port()
        self.log = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SMARTCACHE_COHERENCE_DB_NAME": connection.settings_dict["NAME"],
            "SMARTCACHE_COHERENCE_SMARTCACHE": json.dumps(smartcache),
        }
        command = [
            sys.executable, "-m", "gunicorn", "tests.local_server.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--chdir", str(ROOT),
            "--log-level", "warning", "--graceful-timeout", "3", "--timeout", "30",
        ]  # fmt: skip
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{self.name} exited:\n{self.log_tail()}"
            with contextlib.suppress(OSError):
                if get(self.port, "/ping/")[0] == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not answer in {timeout} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        with contextlib.suppress(OSError):
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return []

    def stop(self) -> None:
        """SIGTERM the master (it stops its workers), SIGKILL whatever is left."""
        if self.process.poll() is not None:
            return
        workers = self.worker_pids()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        for pid in workers:  # orphans, if the master had to be killed
            with contextlib.suppress(OSError):
                if "gunicorn" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def servers(count: int, smartcache: dict, log_dir: Path, workers: int = 2):
    started: list[Server] = []
    try:
        for i in range(count):
            started.append(Server(f"server{'AB'[i]}", smartcache, log_dir, workers))
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


# --------------------------------------------------------------------------- the admin


class AdminSession:
    """A superuser logged in over HTTP; ``change_price`` POSTs the product's change form."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.cookies: dict[str, str] = {}
        self._request(port, "GET", "/admin/login/")
        status, location = self._request(
            port,
            "POST",
            "/admin/login/",
            {"username": username, "password": password, "next": "/admin/"},
        )
        assert status == 302 and "sessionid" in self.cookies, f"admin login failed ({status})"

    def _request(self, port: int, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            body = None
            if form is not None:
                body = urlencode({**form, "csrfmiddlewaretoken": self.cookies["csrftoken"]})
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.headers.get("Location", "")
        finally:
            conn.close()

    def change_price(self, port: int, product: Product, price: Decimal) -> None:
        form = {
            "name": product.name,
            "slug": product.slug,
            "price": str(price),
            "category": product.category_id,
            "_save": "Save",
        }
        status, location = self._request(
            port, "POST", f"/admin/testapp/product/{product.pk}/change/", form
        )
        assert status == 302 and "/change/" not in location, f"admin change failed ({status})"


# --------------------------------------------------------------------------- the load


class Load:
    """What the editor committed and what the readers saw, on this process's monotonic clock."""

    def __init__(self, product: Product, ports: list[int], admin: AdminSession) -> None:
        self.product, self.ports, self.admin = product, ports, admin
        self.stop = threading.Event()
        self.commits: list[tuple[float, Decimal, str]] = [(0.0, product.price, "initial")]
        # Per reader: (sent, price shown, X-Smartcache, server, path, status code).
        self.readers: list[list[tuple[float, Decimal | None, str, int, str, int]]] = []
        self.errors: list[BaseException] = []
        self.paths = [f"/price/{product.pk}/", f"/price/by-slug/{product.slug}/"]

    def editor(self) -> None:
        try:
            price, admin_ports = self.product.price, itertools.cycle(self.ports)
            for path in itertools.cycle(["save", "update", "admin"]):
                if self.stop.is_set():
                    break
                started = time.monotonic()
                price += 1
                if path == "save":
                    self.product.price = price
                    self.product.save()
                elif path == "update":
                    Product.objects.filter(pk=self.product.pk).update(price=price)
                else:
                    self.admin.change_price(next(admin_ports), self.product, price)  # A, B, ...
                self.commits.append((time.monotonic(), price, path))
                time.sleep(max(0.0, EDIT_EVERY - (time.monotonic() - started)))
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)
        finally:
            connection.close()

    @property
    def reads(self) -> list[tuple[float, Decimal | None, str, int, str, int]]:
        return [read for reads in self.readers for read in reads]

    def checked(self) -> int:
        return sum(len(reads) for reads in self.readers)

    def reader(self, server: int) -> None:
        port, out = self.ports[server], []
        self.readers.append(out)
        try:
            for path in itertools.cycle(self.paths):
                if self.stop.is_set():
                    break
                sent = time.monotonic()
                code, headers, body = get(port, path)
                shown = body.partition(b"price=")[2] if code == 200 else b""
                price = Decimal(shown.decode()) if shown else None
                out.append((sent, price, headers.get("X-Smartcache", ""), server, path, code))
        except BaseException as exc:
            self.errors.append(exc)

    def violations(self, reads: list) -> list[tuple[float, Decimal | None, Decimal]]:
        """Responses older than the newest commit that returned before the request was sent
        (the editor's commits return in order: their times are sorted)."""
        times = [returned for returned, _, _ in self.commits]
        out = []
        for sent, price, _, _, _, _ in reads:
            newest = self.commits[bisect.bisect_right(times, sent) - 1][1]
            if price is None or price < newest:
                out.append((sent, price, newest))
        return out


def worker_stats(running: list[Server]) -> list[dict]:
    """The local tier's ``stats()`` of the workers that answer within a few seconds (which
    worker accepts a connection is the kernel's choice: one may take every request)."""
    found: dict[int, dict] = {}
    for server in running:
        pids = set(server.worker_pids())
        deadline = time.monotonic() + 5
        while not pids <= set(found) and time.monotonic() < deadline:
            code, _, body = get(server.port, "/local-stats/")
            assert code == 200, f"/local-stats/: {code}\n{server.log_tail()}"
            answer = json.loads(body)
            found[answer.pop("pid")] = answer
            time.sleep(0.01)
        assert pids & set(found), f"{server.name}: workers {pids}, none answered"
    return list(found.values())


def kill_push_connections(redis_url: str) -> int:
    """``CLIENT KILL ID`` every pub/sub connection on the test run's Redis db, and every
    connection that tracking clients of that db redirect their invalidations to (never
    another db's: other runs may share the server). Returns how many were killed."""
    db = int(urlsplit(redis_url).path.strip("/") or 0)
    client = redis.Redis.from_url(redis_url)
    try:
        listed = client.client_list()
        ids = {
            int(c["id"])
            for c in listed
            if int(c.get("db", -1)) == db
            and ("P" in c.get("flags", "") or int(c.get("sub", 0)) or int(c.get("psub", 0)))
        }
        ids |= {
            int(c["redir"])
            for c in listed
            if int(c.get("db", -1)) == db and int(c.get("redir", -1)) > 0
        }
        ids.discard(int(client.client_id()))
        return sum(int(client.execute_command("CLIENT", "KILL", "ID", i)) for i in ids)
    finally:
        client.close()


def run_load(shop, real_redis, tmp_path, local: bool, kill: bool, label: str) -> None:
    laptop = shop["laptop"]
    user_model = get_user_model()
    user_model.objects.create_superuser("editor", "editor@example.com", "pw")
    smartcache = {"LOCAL": {}} if local else {}
    with servers(2, smartcache, tmp_path) as (a, b):
        ports = [a.port, b.port]
        for server in (a, b):  # every page cached once before the load
            for path in (f"/price/{laptop.pk}/", f"/price/by-slug/{laptop.slug}/"):
                code = get(server.port, path)[0]
                assert code == 200, f"{path}: {code} from {server.name}:\n{server.log_tail()}"
        load = Load(laptop, ports, AdminSession(a.port, "editor", "pw"))
        threads = [threading.Thread(target=load.editor)] + [
            threading.Thread(target=load.reader, args=(i % 2,)) for i in range(READERS)
        ]
        killed: list[tuple[float, int]] = []
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            for at in KILL_AT if kill else ():
                time.sleep(max(0.0, started + at * LOAD - time.monotonic()))
                killed.append((time.monotonic(), kill_push_connections(real_redis)))
            time.sleep(max(0.0, started + LOAD - time.monotonic()))
            while load.checked() < MIN_CHECKED and time.monotonic() < started + MAX_LOAD:
                time.sleep(0.1)  # a busy machine: load on, up to MAX_LOAD
        finally:
            seconds = time.monotonic() - started
            load.stop.set()
            for thread in threads:
                thread.join(20)
        local_hits = sum(s["hits"] for s in worker_stats([a, b])) if local else 0
        logs = "\n".join(f"--- {s.name}\n{s.log_tail()}" for s in (a, b))

    assert not load.errors, f"{load.errors!r}\n{logs}"
    reads = load.reads
    violations = load.violations(reads)
    codes = Counter(code for *_, code in reads)
    per_server = Counter("AB"[server] for _, _, _, server, _, _ in reads)
    statuses = Counter(status for _, _, status, _, _, _ in reads)
    paths = Counter(path for _, _, path in load.commits[1:])
    print(
        f"\n[{label}] {len(reads)} responses checked in {seconds:.1f} s (server A "
        f"{per_server['A']}, B {per_server['B']}; "
        + ", ".join(f"{s or 'no header'} {n}" for s, n in statuses.most_common())
        + f"), {len(load.commits) - 1} commits (save {paths['save']}, update "
        f"{paths['update']}, admin {paths['admin']}), violations {len(violations)}"
    )
    if local:
        print(f"  local tier hits (workers that answered): {local_hits} of {statuses['HIT']} HIT")
    for when, count in killed:
        after = [r for r in reads if r[0] >= when]
        hits = sum(1 for r in after if r[2] == "HIT")
        print(
            f"  CLIENT KILL at +{when - started:.1f} s: {count} push connections; after it "
            f"{len(after)} responses ({hits} HIT), "
            f"{sum(1 for v in violations if v[0] >= when)} violations"
        )
    for sent, shown, newest in violations[:5]:
        print(f"  request sent at +{sent - started:.3f} s showed {shown}, committed {newest}")
    assert codes == {200: len(reads)}, f"every response must be a 200: {codes}\n{logs}"
    committed = {price for _, price, _ in load.commits}
    assert {price for _, price, *_ in reads} <= committed, "a price nobody committed"
    assert len(reads) >= MIN_CHECKED, f"only {len(reads)} responses checked"
    assert min(paths[p] for p in ("save", "update", "admin")) >= 10, f"few commits: {paths}"
    assert not violations, f"{len(violations)} responses older than a finished commit"
    if local:  # else the local tier was never used, and these runs proved nothing about it
        assert local_hits >= 1, "no response came from the local tier"
    if local and kill:
        assert killed[0][1] >= 1, "no push connection of the local tier was found to kill"


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("local", RUNS)
def test_no_response_older_than_a_finished_commit(real_redis, shop, tmp_path, local, request):
    run_load(shop, real_redis, tmp_path, local, kill=False, label=request.node.callspec.id)


@pytest.mark.parametrize("local", RUNS)
def test_killing_the_push_connections_serves_nothing_older(
    real_redis, shop, tmp_path, local, request
):
    label = f"{request.node.callspec.id}, CLIENT KILL"
    run_load(shop, real_redis, tmp_path, local, kill=True, label=label)


# --------------------------------------------------------------------------- memory

CHURN_PAGES = 10_000  # distinct pages of about 1 KiB (tests/local_server/urls.py: churn)
CHURN_CAP = 256 * 1024  # MAX_BYTES: room for a couple of hundred of them


if LOCAL_TIER:

    @override_settings(
        ROOT_URLCONF="tests.local_server.urls",
        SMARTCACHE={"LOCAL": {"MAX_BYTES": CHURN_CAP}},
    )
    def test_a_churn_of_pages_stays_within_max_bytes(real_redis):
        from django_smartcache.stores.local import stats

        client, peak, statuses = Client(), 0, Counter()
        started = time.monotonic()
        for n in range(CHURN_PAGES):
            for _ in range(2):  # stored in Redis, then served from it (what the tier keeps)
                response = client.get(f"/churn/{n}/")
                assert response.status_code == 200
                statuses[response.get("X-Smartcache")] += 1
            if n % 100 == 0 or n == CHURN_PAGES - 1:
                peak = max(peak, stats("default")["bytes"])
                assert peak <= CHURN_CAP, f"{peak} bytes after {n + 1} pages"
        last = stats("default")
        response = client.get(f"/churn/{CHURN_PAGES - 1}/")  # just served from Redis: local
        after = stats("default")
        print(
            f"\n[local, MAX_BYTES={CHURN_CAP}] {CHURN_PAGES} pages in "
            f"{time.monotonic() - started:.1f} s ({dict(statuses)}): peak {peak} bytes, "
            f"then {last}"
        )
        assert statuses["HIT"] >= 0.9 * CHURN_PAGES, "the pages did not go through the tier"
        assert response.get("X-Smartcache") == "HIT" and after["hits"] == last["hits"] + 1
        assert 0 < last["bytes"] <= CHURN_CAP and last["entries"] >= 1
        assert last["evictions"] >= 1, "10,000 pages went through the tier without an eviction"
