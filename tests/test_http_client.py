"""The postback HTTP client against a real server on 127.0.0.1: it never raises."""

from __future__ import annotations

import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.http_client import AiohttpClient, HttpClient, HttpResult
from simulator.server import BackgroundServer


class Echo:
    """Routes: /redirect, /hold (answers once `release` is set), /latin1, anything else echoes."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/redirect":
            start_response("302 Found", [("Location", "/elsewhere")])
            return [b""]
        if path == "/hold":
            self.release.wait(10)
        if path == "/latin1":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return ["café".encode("latin-1")]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b"empty"
        start_response(
            "201 Created",
            [
                ("X-Echo-Method", environ["REQUEST_METHOD"]),
                ("X-Echo-Type", environ.get("CONTENT_TYPE", "")),
                ("X-Echo-Agent", environ.get("HTTP_USER_AGENT", "")),
                ("X-Echo-Port", str(environ.get("REMOTE_PORT", ""))),
                ("X-Echo-Uri", environ.get("RAW_URI", "")),
                ("Content-Length", str(len(body))),  # lets the connection stay open
            ],
        )
        return [body]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Echo, str]]:
    app = Echo()
    with BackgroundServer(app) as running:
        yield app, running.url
        app.release.set()


@pytest.fixture
def client() -> Iterator[AiohttpClient]:
    """The postback client, its private loop stopped after the test."""
    instance = AiohttpClient()
    yield instance
    instance.close()


def test_a_response_carries_status_body_and_headers(
    server: tuple[Echo, str], client: HttpClient
) -> None:
    _, url = server
    result = client.send(
        "POST", url + "/echo", body=b"a=1", headers={"Content-Type": "text/plain"}, timeout=5
    )

    assert (result.status, result.body, result.error) == (201, "a=1", None)
    assert result.header("x-echo-method") == "POST"
    assert result.header("X-ECHO-TYPE") == "text/plain"
    assert result.header("X-Echo-Agent") == "postback-sim/0.1"
    assert result.header("X-Missing") is None
    assert result.latency_ms >= 0


def test_redirects_are_returned_not_followed(
    server: tuple[Echo, str], client: HttpClient
) -> None:
    result = client.send("GET", server[1] + "/redirect", timeout=5)
    assert result.status == 302
    assert result.header("Location") == "/elsewhere"


def test_a_body_that_is_not_utf8_is_decoded_with_replacement(
    server: tuple[Echo, str], client: HttpClient
) -> None:
    assert client.send("GET", server[1] + "/latin1", timeout=5).body == "caf\ufffd"


def test_a_slow_server_times_out(server: tuple[Echo, str], client: HttpClient) -> None:
    result = client.send("GET", server[1] + "/hold", timeout=0.2)

    assert result.status is None
    assert result.timed_out
    assert not result.fatal
    assert "timeout" in (result.error or "")


def test_a_refused_connection_is_an_error_but_not_a_timeout(client: HttpClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    result = client.send("GET", f"http://127.0.0.1:{port}/", timeout=5)

    assert result.status is None
    assert (result.timed_out, result.fatal) == (False, False)
    assert "Connection refused" in (result.error or "")


@pytest.mark.parametrize(
    "url",
    ["http://", "http://127.0.0.1:99999/", "ftp://127.0.0.1/", "http://exa mple.com/", "nothing"],
    ids=["no-host", "bad-port", "ftp", "space-in-host", "not-a-url"],
)
def test_a_url_that_cannot_be_requested_is_fatal(client: HttpClient, url: str) -> None:
    result = client.send("GET", url, timeout=1)

    assert result.status is None
    assert result.fatal
    assert (result.error or "").startswith("invalid URL")


def test_header_lookup_ignores_case() -> None:
    assert HttpResult(200, headers={"Retry-After": "5"}).header("retry-after") == "5"


def test_non_ascii_and_spaces_in_the_url_are_percent_encoded_not_refused(
    server: tuple[Echo, str], client: HttpClient
) -> None:
    result = client.send("GET", server[1] + "/echo?q=café au lait&done=%41", timeout=5)
    assert result.header("X-Echo-Uri") == "/echo?q=caf%C3%A9%20au%20lait&done=%41"


class RawHandler(socketserver.StreamRequestHandler):
    """Answers every request with the server's canned bytes; `close_idle` closes after each."""

    def handle(self) -> None:
        self.server.connections += 1
        while True:
            line = self.rfile.readline()
            if not line:
                return
            head = [line]
            while line not in (b"\r\n", b""):
                line = self.rfile.readline()
                head.append(line)
            text = b"".join(head).decode("latin-1")
            self.server.heads.append(text)
            length = next((int(h.split(":")[1]) for h in text.split("\r\n")
                           if h.lower().startswith("content-length:")), 0)
            self.rfile.read(length)
            self.wfile.write(self.server.answer)
            if self.server.close_idle:
                return


OK_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, answer: bytes, close_idle: bool) -> None:
        super().__init__(("127.0.0.1", 0), RawHandler)
        self.answer, self.close_idle = answer, close_idle
        self.connections = 0
        self.heads: list[str] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-answer is part of these tests, not a failure."""


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """Starts servers that answer with canned bytes; all are shut down after the test."""
    started: list[RawServer] = []

    def start(answer: bytes = OK_ANSWER, close_idle: bool = False) -> RawServer:
        raw = RawServer(answer, close_idle)
        threading.Thread(target=raw.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        started.append(raw)
        return raw

    yield start
    for raw in started:
        raw.shutdown()
        raw.server_close()


@pytest.mark.parametrize("close_idle", [False, True], ids=["server-keeps-alive", "server-closes"])
def test_a_connection_is_reused_until_the_server_closes_it(
    raw_server: Callable[..., RawServer], client: HttpClient, close_idle: bool
) -> None:
    raw = raw_server(close_idle=close_idle)
    statuses = [client.send("GET", raw.url + "/pb", timeout=5).status for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert raw.connections == (3 if close_idle else 1)


@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n", 200, "abcdefg"),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew",
         201, "new"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, ""),
        (b"HTTP/1.0 200 OK\r\n\r\nuntil the end", 200, "until the end"),
        (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom", 500, "boom"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nConnection: close\r\n\r\nok", 200, "ok"),
    ],
    ids=["chunked", "interim-100", "no-content", "close-delimited", "error-status", "close"],
)
def test_answers_are_read_whatever_their_framing(
    raw_server: Callable[..., RawServer], client: HttpClient, answer: bytes, status: int,
    body: str,
) -> None:
    raw = raw_server(answer, close_idle=b"HTTP/1.0" in answer)
    results = [client.send("GET", raw.url + "/pb", timeout=5) for _ in range(2)]
    assert [(r.status, r.body) for r in results] == [(status, body)] * 2


def test_repeated_headers_are_joined(
    raw_server: Callable[..., RawServer], client: HttpClient
) -> None:
    raw = raw_server(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 0\r\n\r\n")
    assert client.send("GET", raw.url, timeout=5).header("X-A") == "1, 2"


def test_a_huge_answer_is_cut_and_its_connection_not_reused(
    raw_server: Callable[..., RawServer], client: HttpClient
) -> None:
    size = 3 << 20
    raw = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)
    results = [client.send("GET", raw.url, timeout=5) for _ in range(2)]
    assert [len(r.body) for r in results] == [1 << 20] * 2
    assert raw.connections == 2


@pytest.mark.parametrize(
    "answer",
    [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", b""],
    ids=["not-http", "truncated-body", "closed-without-answer"],
)
def test_a_broken_answer_is_a_retryable_error(
    raw_server: Callable[..., RawServer], client: HttpClient, answer: bytes
) -> None:
    raw = raw_server(answer, close_idle=True)
    result = client.send("GET", raw.url, timeout=5)
    assert result.status is None
    assert not result.fatal
    assert (result.error or "").startswith("connection failed")


def test_the_request_names_its_host_port_and_length(
    raw_server: Callable[..., RawServer], client: HttpClient
) -> None:
    raw = raw_server()
    client.send("POST", raw.url + "/pb?a=1", body=b"x=1",
                headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    (head,) = raw.heads
    lines = head.split("\r\n")
    assert lines[0] == "POST /pb?a=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{raw.server_address[1]}" in lines
    assert "Content-Length: 3" in lines
    assert "Content-Type: application/x-www-form-urlencoded" in lines
    assert "User-Agent: postback-sim/0.1" in lines


@pytest.mark.parametrize(
    ("method", "headers"),
    [("GET", {"X-Evil": "a\r\nInjected: 1"}), ("G ET", {}), ("GET", {"Bad Name": "1"})],
    ids=["crlf-in-value", "space-in-method", "space-in-name"],
)
def test_a_request_that_would_be_malformed_is_refused_as_fatal(
    client: HttpClient, method: str, headers: dict[str, str]
) -> None:
    result = client.send(method, "http://127.0.0.1:9/", headers=headers, timeout=1)
    assert result.fatal


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with a fresh self-signed certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    tmp_path = tmp_path_factory.mktemp("tls")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    raw = RawServer(OK_ANSWER, close_idle=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    raw.socket = context.wrap_socket(raw.socket, server_side=True)
    threading.Thread(target=raw.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield f"https://127.0.0.1:{raw.server_address[1]}/pb", cert
    raw.shutdown()
    raw.server_close()


def test_https_answers_are_read_over_a_verified_connection(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    client = AiohttpClient(ssl.create_default_context(cafile=str(cert)))
    try:
        results = [client.send("GET", url, timeout=5) for _ in range(2)]
    finally:
        client.close()
    assert [(r.status, r.body) for r in results] == [(200, "ok")] * 2


def test_an_untrusted_certificate_is_a_retryable_error(
    tls_server: tuple[str, Path], client: HttpClient
) -> None:
    result = client.send("GET", tls_server[0], timeout=5)
    assert result.status is None
    assert not result.fatal
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error or "")
