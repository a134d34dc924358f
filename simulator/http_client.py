"""The outbound HTTP client for postbacks, behind a small protocol so tests can inject one.

urllib3 rather than `requests` on this hot path: it is what requests wraps, minus the per-call
session and hook machinery, and it keeps one connection pool across delivery workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import urllib3


@dataclass
class HttpResult:
    """What one attempt produced: a status and body, or an error (timeout, refused, reset)."""

    status: int | None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    timed_out: bool = False
    latency_ms: float = 0.0


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


class Urllib3Client:
    """Pooled, thread-safe client; never raises, every failure becomes an `HttpResult`."""

    def __init__(self, maxsize: int = 32) -> None:
        self._pool = urllib3.PoolManager(maxsize=maxsize, retries=False)

    def send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpResult:
        start = time.perf_counter()
        hdrs = {"User-Agent": "postback-sim/0.1", **(headers or {})}
        try:
            resp = self._pool.request(
                method,
                url,
                body=body,
                headers=hdrs,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                redirect=False,
                preload_content=True,
            )
        except urllib3.exceptions.TimeoutError as exc:
            return HttpResult(None, error=f"timeout after {timeout:g}s ({type(exc).__name__})",
                              timed_out=True, latency_ms=_ms(start))
        except urllib3.exceptions.HTTPError as exc:
            return HttpResult(None, error=_describe(exc), latency_ms=_ms(start))
        except (ValueError, OSError) as exc:
            return HttpResult(None, error=f"{type(exc).__name__}: {exc}", latency_ms=_ms(start))
        text = resp.data.decode("utf-8", errors="replace")
        return HttpResult(resp.status, text, dict(resp.headers), latency_ms=_ms(start))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _describe(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return f"timeout: {reason}"
    return f"{type(exc).__name__}: {reason or exc}"
