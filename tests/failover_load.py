"""Load around a failover, shared by the Sentinel and Cluster failover tests: a writer
commits a new laptop price every ``WRITE_EVERY`` seconds (``tests/sentinel_writer.py``, as a
thread or as a process of its own), reader threads request the laptop's page, and ``Run``
counts the reads that started after a commit was acknowledged and showed an older price."""

from __future__ import annotations

import bisect
import json
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal

from django.db import connection
from django.test import Client

from tests.helpers import status
from tests.sentinel_writer import write_prices

URL = "/products/laptop/"
READERS = 4
WRITE_EVERY = 0.1
ONE, TWO = "one process", "two processes"


class Run:
    """What the writer committed and what the readers saw, on one monotonic clock."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.commits: list[tuple[float, Decimal, bool]] = []  # (save() returned, price, landed)
        self.reads: list[tuple[float, Decimal | None, str, int]] = []  # (start, price, ...)
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()
        self.writer_process: subprocess.Popen | None = None
        self.writer_log = ""  # the writer process's stderr (its warnings)

    def start_writer(
        self, deployment: str, config: dict, env: dict[str, str] | None = None
    ) -> threading.Thread | None:
        """Start the writer: a thread (``ONE``) or a process (``TWO``), with ``env`` added
        to the process's environment."""
        if deployment == ONE:

            def writer() -> None:
                try:
                    self.commits = write_prices(self.stop, WRITE_EVERY)
                except BaseException as exc:  # reported by the test, not lost in a thread
                    self.errors.append(exc)

            thread = threading.Thread(target=writer)
            thread.start()
            return thread
        command = [sys.executable, "-m", "tests.sentinel_writer", json.dumps(config)]
        self.writer_process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        return None

    def stop_writer(self) -> None:
        process = self.writer_process
        if process is None:
            return
        try:
            out, self.writer_log = process.communicate("", timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(5)
        assert process.returncode == 0, f"the writer process failed: {self.writer_log}"
        self.commits = [
            (t, Decimal(p), landed) for t, p, landed in map(json.loads, out.split("\n")[:-1])
        ]

    def reader(self) -> None:
        client = Client()
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                response = client.get(URL)
                shown = response.content.partition(b"=")[2]
                price = Decimal(shown.decode()) if response.status_code == 200 else None
                with self.lock:
                    self.reads.append((started, price, status(response), response.status_code))
                time.sleep(0.002)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connection.close()

    def acknowledged(self, landed_only: bool) -> list[tuple[float, Decimal]]:
        """(when, price) per commit: when ``save()`` returned, or when its bump had landed
        (the first later ``save()`` that returned with nothing pending; bumps retry in order)."""
        out, when = [], float("inf")
        for returned, price, landed in reversed(self.commits):
            if landed or not landed_only:
                when = returned
            out.append((when, price))
        out.reverse()
        # A commit's acknowledgement is never later than a later one's: keep them sorted.
        for i in range(len(out) - 2, -1, -1):
            out[i] = (min(out[i][0], out[i + 1][0]), out[i][1])
        return out

    def violations(self, landed_only: bool) -> list[tuple[float, Decimal, Decimal]]:
        """Reads that started after a commit was acknowledged and showed an older price."""
        acked = self.acknowledged(landed_only)
        times = [when for when, _ in acked]
        out = []
        for started, price, _, _ in self.reads:
            i = bisect.bisect_right(times, started)
            if i and price is not None and price < acked[i - 1][1]:
                out.append((started, price, acked[i - 1][1]))
        return out
