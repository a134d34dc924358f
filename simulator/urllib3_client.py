"""Urllib3Client: pooled urllib3 behind the HttpClient contract; the reference implementation
the keep-alive client is tested against, and a fallback for exotic receivers."""

from __future__ import annotations

import http.client
import time

import urllib3

from simulator.http_client import USER_AGENT, HttpResult
from simulator.http_client import elapsed_ms as _ms


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
        if not url.lower().startswith(("http://", "https://")):
            # urllib3 would guess http:// (with a FutureWarning); a postback never guesses.
            return HttpResult(None, error="invalid URL: it must start with http:// or https://",
                              fatal=True)
        hdrs = {"User-Agent": USER_AGENT, **(headers or {})}
        try:
            resp = self._pool.request(
                method,
                url,
                body=body,
                headers=hdrs,
                # `total` bounds connect + read together, so a timeout means the whole attempt.
                timeout=urllib3.Timeout(total=timeout),
                redirect=False,
                preload_content=True,
            )
        except urllib3.exceptions.NewConnectionError as exc:
            # urllib3 files this under ConnectTimeoutError, but a refusal is not a timeout.
            return HttpResult(None, error=f"connection failed: {_cause(exc)}",
                              latency_ms=_ms(start))
        except urllib3.exceptions.TimeoutError as exc:
            return HttpResult(None, error=f"timeout after {timeout:g}s ({type(exc).__name__})",
                              timed_out=True, latency_ms=_ms(start))
        except urllib3.exceptions.LocationValueError as exc:
            return HttpResult(None, error=f"invalid URL: {exc}", latency_ms=_ms(start),
                              fatal=True)
        except urllib3.exceptions.HTTPError as exc:
            cause = _cause(exc)
            if isinstance(cause, http.client.InvalidURL):
                return HttpResult(None, error=f"invalid URL: {cause}", latency_ms=_ms(start),
                                  fatal=True)
            return HttpResult(None, error=f"{type(exc).__name__}: {cause}",
                              timed_out=isinstance(cause, TimeoutError), latency_ms=_ms(start))
        except (ValueError, OSError) as exc:
            return HttpResult(None, error=f"{type(exc).__name__}: {exc}", latency_ms=_ms(start))
        text = resp.data.decode("utf-8", errors="replace")
        return HttpResult(resp.status, text, dict(resp.headers), latency_ms=_ms(start))


def _cause(exc: Exception) -> object:
    """The underlying error urllib3 wrapped (ProtocolError carries it as its second arg)."""
    if isinstance(exc, urllib3.exceptions.ProtocolError) and len(exc.args) > 1:
        return exc.args[1]
    return getattr(exc, "reason", None) or exc
