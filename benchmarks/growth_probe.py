"""What the growth benchmark reads off a running server: the resident memory of its process
tree, and the latency of GET requests sent one after another on one keep-alive connection."""

from __future__ import annotations

import http.client
import os
import time
from dataclasses import dataclass
from pathlib import Path

from processes import LOCALHOST
from stats import percentile


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def rss_mb(pid: int) -> tuple[float, int]:
    """Resident memory (MiB) of `pid` and all its descendants, summed; and how many processes."""
    total_kb, count, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
                count += 1
        todo += _children(current)
    return total_kb / 1024, count


@dataclass(frozen=True)
class Latency:
    """Milliseconds per request of one query, sent `len(samples)` times."""

    samples: list[float]
    status: int
    size: int

    @property
    def p50(self) -> float:
        return percentile(self.samples, 50)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 99)


def latency(port: int, path: str, count: int, *, warmup: int = 3,
            timeout_s: float = 60.0) -> Latency:
    """Time `count` GETs of `path` on 127.0.0.1:`port`, one at a time, after `warmup` untimed."""
    conn = http.client.HTTPConnection(LOCALHOST, port, timeout=timeout_s)
    samples: list[float] = []
    status = size = 0
    try:
        for i in range(warmup + count):
            started = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            took = (time.perf_counter() - started) * 1000
            status, size = resp.status, len(body)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
            if i >= warmup:
                samples.append(took)
    finally:
        conn.close()
    return Latency(samples, status, size)


def db_size_mb(path: Path) -> float:
    """The database file and its WAL, in MiB."""
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists()) / 2**20
