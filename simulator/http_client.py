"""The outbound HTTP client for postbacks, behind a small protocol so tests can inject one.

Two implementations keep the same contract (never raise; redirects are answers, not followed):
- `simulator.keepalive.KeepAliveClient`, the one on the delivery hot path: plain HTTP/1.1 over
  one persistent socket per worker thread and origin. A postback is a one-line GET answered by a
  short body, and http.client's email-based header parsing or urllib3's pool and retry layers cost
  two to three times its CPU (benchmarks/bench_firing.py: 0.71x a bare aiohttp loop against
  0.32x with urllib3).
- `simulator.urllib3_client.Urllib3Client`, pooled urllib3, the reference the first is tested
  against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

USER_AGENT = "postback-sim/0.1"


@dataclass
class HttpResult:
    """What one attempt produced: a status and body, or an error (timeout, refused, reset).

    `fatal` marks a request that could not be made at all (a malformed URL): retrying it cannot
    help, unlike a timeout or a refused connection.
    """

    status: int | None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    timed_out: bool = False
    latency_ms: float = 0.0
    fatal: bool = False

    def header(self, name: str) -> str | None:
        """A response header by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class HttpClient(Protocol):
    def send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpResult: ...


def elapsed_ms(start: float) -> float:
    """Milliseconds since `start` (a perf_counter reading), for the attempt log."""
    return round((time.perf_counter() - start) * 1000, 2)
