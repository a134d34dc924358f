"""KeepAliveClient: HTTP/1.1 over one persistent socket per thread and origin.

The delivery hot path (see simulator.http_client for why not urllib3 or http.client there).
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import threading
import time
import weakref
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from simulator.http_client import USER_AGENT, HttpResult
from simulator.http_client import elapsed_ms as _ms

# Characters sent as they are in a request target; anything else (spaces, non-ASCII, braces of an
# unexpanded macro) is percent-encoded as urllib3 does, and existing %XX escapes are kept.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~!#$%&'()*+,/:;=?@\[\]]")
_HOST = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=:-]+")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Bigger answers are cut here (the attempt log keeps far less) and their connection closed.
MAX_BODY_BYTES = 1 << 20
MAX_HEAD_BYTES = 64 << 10
# Receivers come and go (a test run starts one per port); older idle sockets beyond this go.
MAX_ORIGINS_PER_THREAD = 8


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int


class KeepAliveClient:
    """HTTP/1.1 with one keep-alive socket per thread and origin; thread-safe, never raises.
    `timeout` bounds the whole attempt, connecting included."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context or ssl.create_default_context()
        self._local = threading.local()
        self._open: set[_Connection] = set()
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._open, self._lock)

    def close(self) -> None:
        """Close every connection, whichever thread opened it."""
        self._finalizer()

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
        try:
            origin, request = _request(method, url, body, headers)
        except ValueError as exc:
            return HttpResult(None, error=f"invalid URL: {exc}", fatal=True)
        while True:
            conn: _Connection | None = None
            try:
                conn, reused = self._connection(origin, timeout)
                conn.send(request, timeout)
                status, hdrs, data, keep = conn.read_response(method, start + timeout)
            except _Stale:
                self._drop(origin, conn)
                if reused:
                    continue  # the server had closed it while idle: the request never arrived
                return HttpResult(None, error="connection failed: closed without an answer",
                                  latency_ms=_ms(start))
            except TimeoutError:
                self._drop(origin, conn)
                return HttpResult(None, error=f"timeout after {timeout:g}s", timed_out=True,
                                  latency_ms=_ms(start))
            except (OSError, ValueError) as exc:
                self._drop(origin, conn)
                return HttpResult(None, error=f"connection failed: {_name(exc)}",
                                  latency_ms=_ms(start))
            if not keep:
                self._drop(origin, conn)
            text = data.decode("utf-8", errors="replace")
            return HttpResult(status, text, hdrs, latency_ms=_ms(start))

    def _connection(self, origin: _Origin, timeout: float) -> tuple[_Connection, bool]:
        conns: dict[_Origin, _Connection] = self._local.__dict__.setdefault("conns", {})
        conn = conns.get(origin)
        if conn is not None and not conn.closed_by_peer():
            return conn, True
        self._drop(origin, conn)
        sock = socket.create_connection((origin.host, origin.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if origin.scheme == "https":
            sock = self._ssl.wrap_socket(sock, server_hostname=origin.host)
        conn = conns[origin] = _Connection(sock)
        with self._lock:
            self._open.add(conn)
        if len(conns) > MAX_ORIGINS_PER_THREAD:
            oldest = next(iter(conns))
            self._drop(oldest, conns[oldest])
        return conn, False

    def _drop(self, origin: _Origin, conn: _Connection | None) -> None:
        if conn is None:
            return
        conn.close()
        conns = self._local.__dict__.get("conns", {})
        if conns.get(origin) is conn:
            del conns[origin]
        with self._lock:
            self._open.discard(conn)


class _Stale(Exception):
    """The connection ended before any byte of an answer."""


class _Connection:
    """One socket and the bytes read from it but not yet consumed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()

    def close(self) -> None:
        self.sock.close()

    def send(self, request: bytes, timeout: float) -> None:
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(request)
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            raise _Stale from None

    def closed_by_peer(self) -> bool:
        """Whether the server closed this idle socket (or sent something it should not have)."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if not poller.poll(0):
            return False
        try:
            # Readable can also mean a TLS session ticket, which is no application data.
            self.sock.setblocking(False)
            self.sock.recv(1)  # b"" (closed) or stray bytes: either way the socket is done
            return True
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        except OSError:
            return True

    def read_response(
        self, method: str, deadline: float
    ) -> tuple[int, dict[str, str], bytes, bool]:
        """Status, headers, body and whether the connection may be reused."""
        while True:  # skip interim 1xx answers (100 Continue, 103 Early Hints)
            head = self._read_head(deadline)
            status, version, hdrs = _parse_head(head)
            if not 100 <= status < 200 or status == 101:
                break
        connection = hdrs.get("connection", "").lower()
        keep = version == "HTTP/1.1" and "close" not in connection
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, hdrs, b"", keep
        if "chunked" in hdrs.get("transfer-encoding", "").lower():
            data, complete = self._read_chunked(deadline)
        elif "content-length" in hdrs:
            data, complete = self._read_exactly(int(hdrs["content-length"]), deadline)
        else:
            data, complete = self._read_to_close(deadline), False
        return status, hdrs, data, keep and complete

    def _fill(self, deadline: float) -> bool:
        self.sock.settimeout(max(0.001, deadline - time.perf_counter()))
        chunk = self.sock.recv(65536)
        self._buf += chunk
        return bool(chunk)

    def _read_head(self, deadline: float) -> bytes:
        first = not self._buf
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            if len(self._buf) > MAX_HEAD_BYTES:
                raise ValueError("response headers are too large")
            try:
                more = self._fill(deadline)
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                if first and not self._buf:
                    raise _Stale from None
                raise
            if not more:
                if first and not self._buf:
                    raise _Stale
                raise ValueError("connection closed in the middle of the response headers")
        head = bytes(self._buf[:end])
        del self._buf[: end + 4]
        return head

    def _read_exactly(self, size: int, deadline: float) -> tuple[bytes, bool]:
        wanted = min(size, MAX_BODY_BYTES)
        while len(self._buf) < wanted:
            if not self._fill(deadline):
                raise ValueError("connection closed in the middle of the response body")
        data = bytes(self._buf[:wanted])
        del self._buf[:wanted]
        return data, wanted == size

    def _read_line(self, deadline: float) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > MAX_HEAD_BYTES or not self._fill(deadline):
                raise ValueError("malformed chunked body")
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _read_chunked(self, deadline: float) -> tuple[bytes, bool]:
        body = bytearray()
        while True:
            size = int(self._read_line(deadline).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._read_line(deadline):  # trailers, up to the empty line
                    pass
                return bytes(body), True
            if len(body) + size > MAX_BODY_BYTES:
                return bytes(body), False
            data, _ = self._read_exactly(size, deadline)
            body += data
            if self._read_line(deadline):
                raise ValueError("malformed chunked body")

    def _read_to_close(self, deadline: float) -> bytes:
        while len(self._buf) < MAX_BODY_BYTES and self._fill(deadline):
            pass
        data = bytes(self._buf[:MAX_BODY_BYTES])
        self._buf.clear()
        return data


def _request(
    method: str, url: str, body: bytes | None, headers: dict[str, str] | None
) -> tuple[_Origin, bytes]:
    """The origin to connect to and the request's bytes; ValueError if it cannot be sent."""
    if not _TOKEN.fullmatch(method):
        raise ValueError(f"{method!r} is not an HTTP method")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("it must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("no host")
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname.encode("idna").decode("ascii")
    if not _HOST.fullmatch(host):
        raise ValueError(f"{host!r} is not a valid host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if _NEEDS_QUOTING.search(target):
        target = quote(target, safe=_TARGET_SAFE)
    default_port = port == (443 if scheme == "https" else 80)
    authority = f"[{host}]" if ":" in host else host
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {authority}" if default_port else f"Host: {authority}:{port}",
        f"User-Agent: {USER_AGENT}",
        "Accept-Encoding: identity",
    ]
    for name, value in (headers or {}).items():
        if not _TOKEN.fullmatch(name) or "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} cannot be sent")
        if name.lower() != "user-agent":
            lines.append(f"{name}: {value}")
        else:
            lines[2] = f"User-Agent: {value}"
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return _Origin(scheme, host, port), head + (body or b"")


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """Status, HTTP version and headers (lower-case names, repeats joined with ", ")."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/"):
        raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
    status = int(rest[:3])
    hdrs: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            hdrs[key] = f"{hdrs[key]}, {value.strip()}" if key in hdrs else value.strip()
    return status, version, hdrs


def _close_all(conns: set[_Connection], lock: threading.Lock) -> None:
    with lock:
        for conn in conns:
            conn.close()
        conns.clear()


def _name(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
