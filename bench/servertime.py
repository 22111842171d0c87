"""Redis CPU time per hit, measured on a private Redis (``INFO commandstats``).

The shared Redis serves other users, so its command statistics cannot be attributed. This
starts a private ``redis-server`` on 127.0.0.1 (port 8809, no persistence), points a child
process's Django at it (same bench settings), warms both cached variants of the product page,
resets the statistics, sends N hits of one variant through Django's test client, and reads how
many commands Redis ran and how long they took (``usec`` per command type). The server is
stopped by its PID.

Run by the round-trips section; ``python -m bench.servertime --child`` is the child side.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

from .common import ROOT, VARIANTS, bench_env

PORT = 8809


def child(n: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.test import Client
    from django_redis import get_redis_connection

    from .common import RoundTrips

    client = Client(HTTP_HOST="127.0.0.1")
    redis = get_redis_connection("default")
    counter = RoundTrips()
    counter.install()
    out: dict[str, Any] = {}
    for name in ("smartcache", "django"):
        path = VARIANTS[name][1]
        for _ in range(5):
            client.get(path)
        if name == "smartcache":
            assert client.get(path)["X-Smartcache"] == "HIT"
        redis.config_resetstat()
        with counter.count() as box:
            for _ in range(n):
                client.get(path)
        stats = redis.info("commandstats")
        sent = {name.lower() for _db, names in box["trips"] for name in names}
        per_command = {
            key.removeprefix("cmdstat_"): {
                "calls_per_hit": value["calls"] / n,
                "usec_per_hit": value["usec"] / n,
            }
            for key, value in stats.items()
            if key.startswith("cmdstat_") and not key.startswith(("cmdstat_config", "cmdstat_info"))
        }
        out[name] = {
            "hits": n,
            # A script's time includes the commands it runs, which are also listed on their
            # own: only the commands the client sent are added up.
            "redis_usec_per_hit": sum(
                v["usec_per_hit"] for k, v in per_command.items() if k in sent
            ),
            "client_sent": sorted(sent),
            "commands": per_command,
        }
    return out


def measure(python: str, n: int = 2000) -> dict[str, Any]:
    server = shutil.which("redis-server")
    if not server:
        return {"skipped": "redis-server is not installed"}
    proc = subprocess.Popen(
        [server, "--port", str(PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=PORT, socket_timeout=2)
        for _ in range(50):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.1)
        env = bench_env(
            {
                "BENCH_REDIS_URL": f"redis://127.0.0.1:{PORT}/9",
                "BENCH_DJANGO_REDIS_URL": f"redis://127.0.0.1:{PORT}/10",
                "REDIS_URL": f"redis://127.0.0.1:{PORT}/9",
            }
        )
        done = subprocess.run(
            [python, "-m", "bench.servertime", "--child", str(n)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            return {"error": done.stderr[-800:]}
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
        print(json.dumps(child(int(sys.argv[2]))))
    else:
        print(json.dumps(measure(sys.executable), indent=2))
