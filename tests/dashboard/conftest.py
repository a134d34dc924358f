"""Dashboard fixtures: a headless Chromium page (Debian's chromium through Playwright), a
recording receiver on 127.0.0.1, the bundled reference receiver, and where screenshots go."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conformance.receiver_process import ReceiverProcess, receiver_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "receivers" / "reference.py"
# Playwright waits (milliseconds): generous, since two cores are shared with other test runs.
WAIT_MS = 15000


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole session; a test gets its own context through `page`."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium "
                    "(apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh laptop-sized page whose relative URLs go to the live simulator."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screenshot() -> Any:
    """Save the page's full screenshot as docs/screenshots/<name>.png (linked from the README)."""

    def save(tab: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return save


@dataclass
class Receiver:
    """A tiny postback receiver that records every request path and answers 200."""

    url: str
    requests: list[str] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            holder["r"].requests.append(self.path)
            holder["r"].arrived.set()
            body = b'{"status": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["r"] = Receiver(url=f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["r"]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def reference_receiver(live_server: Any) -> Iterator[str]:
    """The bundled reference receiver, forwarding to the live simulator's mocks."""
    with ReceiverProcess(REFERENCE, receiver_env(live_server.url)) as process:
        assert process.url is not None
        yield process.url
