"""The outbound HTTP client for postbacks: aiohttp, behind a small contract tests can replace.

`AiohttpClient.fetch` is the delivery engine's hot path, awaited on the engine's own asyncio loop
(`simulator.sender`); `send` makes the same request for synchronous callers (`run_due`, the load
tool) on a private loop thread. Either way it never raises and never follows a redirect: every
outcome is an `HttpResult` for `simulator.retry_policy`. An injected client (tests) needs only
`send`; the engine runs it on threads.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:  # imported by the first client: aiohttp adds 0.2-0.4 s to a command's start-up
    import aiohttp
    from yarl import URL

USER_AGENT = "postback-sim/0.1"
# Bigger answers are cut here (the attempt log keeps far less) and their connection closed.
MAX_BODY_BYTES = 1 << 20

# Characters sent as they are in a request target; anything else (spaces, non-ASCII, braces of an
# unexpanded macro) is percent-encoded, and existing %XX escapes are kept: a postback's query
# reaches the receiver byte for byte as the macros expanded it.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~!#$%&'()*+,/:;=?@\[\]]")
_HOST = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=:-]+")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


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
    """What the engine and the load tool need: one request, an `HttpResult`, never an error."""

    def send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpResult: ...


class AiohttpClient:
    """aiohttp with one pooled keep-alive session per event loop; never raises.

    `timeout` bounds the whole attempt, connecting included. Cookies are never kept (each
    postback stands alone), and the request goes out as the macros built it. A GET whose
    connection closes before any answer is sent once more at once, by aiohttp (RFC 9112 9.3.1),
    as the hand-written client did for a reused connection the receiver had closed while idle;
    unlike it, aiohttp also does so on a fresh connection (at least once either way).
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        import aiohttp  # noqa: F401  here, not on the first postback: that one has a deadline
        import yarl  # noqa: F401

        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._lock = threading.Lock()
        self._private: _LoopThread | None = None
        # Filled when the private loop starts; the finalizer stops it even if close() is forgotten.
        self._state: list[object] = []
        self._finalizer = weakref.finalize(self, _close_private, self._lock, self._state)

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpResult:
        """Make one request on the running loop (the engine's hot path)."""
        import aiohttp

        start = time.perf_counter()
        try:
            target = _target(method, url, headers)
        except ValueError as exc:
            return HttpResult(None, error=f"invalid URL: {exc}", fatal=True)
        hdrs = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        for name, value in (headers or {}).items():
            hdrs["User-Agent" if name.lower() == "user-agent" else name] = value
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""  # an explicit Content-Length: 0, as a form post without fields sends
        try:
            async with self._session().request(
                method, target, data=body, headers=hdrs, timeout=self._timeout(timeout),
                allow_redirects=False,
            ) as resp:
                data, complete = await _read(resp)
                if not complete:
                    resp.close()  # the rest is never read, so the connection cannot be reused
                return HttpResult(resp.status, data.decode("utf-8", errors="replace"),
                                  _headers(resp), latency_ms=_ms(start))
        except TimeoutError:
            return HttpResult(None, error=f"timeout after {timeout:g}s", timed_out=True,
                              latency_ms=_ms(start))
        except aiohttp.InvalidURL as exc:
            return HttpResult(None, error=f"invalid URL: {exc}", fatal=True,
                              latency_ms=_ms(start))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return HttpResult(None, error=f"connection failed: {_describe(exc)}",
                              latency_ms=_ms(start))

    def send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpResult:
        """`fetch` for a synchronous caller, on this client's private loop thread."""
        with self._lock:
            if self._private is None:
                self._private = _LoopThread()
                self._state[:] = [self._private, self._sessions]
            loop = self._private.loop
        coroutine = self.fetch(method, url, body=body, headers=headers, timeout=timeout)
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    async def aclose(self) -> None:
        """Close the running loop's session (the engine calls it before stopping its loop)."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def close(self) -> None:
        """Close the private loop's session and stop its thread (a later `send` starts anew)."""
        _close_private(self._lock, self._state)
        self._private = None

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=0, ssl=self._ssl)
            session = self._sessions[loop] = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False, skip_auto_headers=("Accept",),
            )
        return session

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            import aiohttp

            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout


class _LoopThread:
    """An asyncio loop running in a daemon thread, for synchronous callers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="http-client",
                                       daemon=True)
        self.thread.start()

    def stop(self, sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession]) -> None:
        session = sessions.pop(self.loop, None)
        if session is not None:
            asyncio.run_coroutine_threadsafe(session.close(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


def _close_private(lock: threading.Lock, state: list[object]) -> None:
    with lock:
        if state:
            private, sessions = state
            state.clear()
            private.stop(sessions)  # type: ignore[attr-defined]


def _target(method: str, url: str, headers: dict[str, str] | None) -> URL:
    """The URL to request, encoded as sent; ValueError if the request cannot be made."""
    from yarl import URL
    if not _TOKEN.fullmatch(method):
        raise ValueError(f"{method!r} is not an HTTP method")
    for name, value in (headers or {}).items():
        if not _TOKEN.fullmatch(name) or "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} cannot be sent")
    if _NEEDS_QUOTING.search(url) is None:  # the usual postback: nothing to encode, parse once
        parsed = URL(url, encoded=True)  # ValueError for a port out of range
        host = parsed.raw_host
        if (parsed.scheme in ("http", "https") and host and parsed.raw_user is None
                and _HOST.fullmatch(host)):
            return parsed
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("it must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("no host")
    port = parts.port  # ValueError when out of range
    host = parts.hostname.encode("idna").decode("ascii")
    if not _HOST.fullmatch(host):
        raise ValueError(f"{host!r} is not a valid host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if _NEEDS_QUOTING.search(target):
        target = quote(target, safe=_TARGET_SAFE)
    authority = f"[{host}]" if ":" in host else host
    if port is not None:
        authority = f"{authority}:{port}"
    return URL(f"{scheme}://{authority}{target}", encoded=True)


async def _read(resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """The body, up to MAX_BODY_BYTES, and whether it was read to its end."""
    length = resp.content_length
    if length is not None and length <= MAX_BODY_BYTES:
        return await resp.read(), True
    body = bytearray()
    while len(body) < MAX_BODY_BYTES:
        chunk = await resp.content.read(MAX_BODY_BYTES - len(body))
        if not chunk:
            return bytes(body), True
        body += chunk
    return bytes(body), resp.content.at_eof()


def _headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    """Lower-case names; a repeated header's values joined with ", " (RFC 9110 5.3)."""
    hdrs: dict[str, str] = {}
    for name, value in resp.headers.items():
        key = name.lower()
        hdrs[key] = f"{hdrs[key]}, {value}" if key in hdrs else value
    return hdrs


def _describe(exc: BaseException) -> str:
    """The error as the attempt log shows it: the OS error's name and text where there is one
    (aiohttp's connect errors carry the socket error's errno, but not its usual wording)."""
    import aiohttp
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"{type(exc.certificate_error).__name__}: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
        if cause.errno:
            return f"{type(cause).__name__}: [Errno {cause.errno}] {os.strerror(cause.errno)}"
        exc = cause
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def elapsed_ms(start: float) -> float:
    """Milliseconds since `start` (a perf_counter reading), for the attempt log."""
    return round((time.perf_counter() - start) * 1000, 2)


_ms = elapsed_ms
