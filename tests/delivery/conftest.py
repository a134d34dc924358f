"""A scripted receiver on 127.0.0.1 and the rows a delivery needs, shared by the delivery tests.

Test modules reach the helpers through the `rig` fixture (pytest runs with --import-mode=importlib,
so conftest is not importable).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from simulator.clock import Clock, ManualClock, iso
from simulator.config import testing_config
from simulator.delivery import DeliveryEngine
from simulator.http_client import AiohttpClient
from simulator.server import BackgroundServer
from simulator.store import Row, Store

WAIT_S = 10.0  # upper bound for anything a test waits on; never reached when things work


@dataclass
class Reply:
    """How the receiver answers one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "ok"
    hold: bool = False  # answer only once the test sets `release`
    delay: float = 0.0


class ScriptedReceiver:
    """A WSGI receiver that answers with the scripted replies in order (then 200) and records
    every request it gets."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[dict[str, Any]] = []
        self.replies: deque[Reply] = deque()
        self.release = threading.Event()
        self._cond = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self._cond:
            self.requests.append(
                {
                    "method": environ["REQUEST_METHOD"],
                    "uri": environ.get("RAW_URI", ""),
                    "body": body.decode("utf-8"),
                    "content_type": environ.get("CONTENT_TYPE", ""),
                }
            )
            reply = self.replies.popleft() if self.replies else Reply()
            self._cond.notify_all()
        if reply.hold:
            self.release.wait(WAIT_S)
        if reply.delay:
            time.sleep(reply.delay)  # the receiver's own slowness is the behaviour under test
        start_response(f"{reply.status} Scripted", list(reply.headers.items()))
        return [reply.body.encode("utf-8")]

    def wait_for(self, count: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.requests) >= count, WAIT_S)


class CurrentApp:
    """Forwards to the receiver of the running test, so one server serves the whole module."""

    def __init__(self) -> None:
        self.app: ScriptedReceiver | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[CurrentApp, str]]:
    current = CurrentApp()
    with BackgroundServer(current) as running:
        yield current, running.url


@pytest.fixture
def receiver(server: tuple[CurrentApp, str]) -> Iterator[ScriptedReceiver]:
    current, url = server
    current.app = ScriptedReceiver()
    current.app.url = url
    yield current.app
    current.app.release.set()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store(":memory:")
    yield db
    db.close()


def make_engine(store: Store, clock: Clock, **changes: Any) -> DeliveryEngine:
    settings: dict[str, Any] = {
        "start_workers": False,
        "retry_schedule": (1.0, 2.0),
        "delivery_timeout": 2.0,
        "delivery_workers": 2,
        **changes,
    }
    return DeliveryEngine(store, clock, AiohttpClient(), testing_config(**settings))


def add_conversion(store: Store, clock: Clock) -> int:
    """An offer, a click and a conversion: the rows a delivery refers to."""
    now = clock.now()
    stamp, ts = iso(now), now.timestamp()
    offer = store.insert(
        "offers",
        {"name": "Offer", "landing_url": "https://shop.example/", "payout": 10.0,
         "currency": "USD", "created_at": stamp},
    )
    click = store.insert(
        "clicks",
        {"unique_click_id": uuid.uuid4().hex, "offer_id": offer, "sub1": "IwAR1", "ip": "1.2.3.4",
         "user_agent": "UA", "country": "US", "created_at": stamp, "ts": ts},
    )
    return store.insert(
        "conversions",
        {"conversion_id": uuid.uuid4().hex, "click_id": click, "event_name": "purchase",
         "payout": 10.0, "currency": "USD", "ip": "1.2.3.4", "user_agent": "UA",
         "created_at": stamp, "ts": ts},
    )


def enqueue(engine: DeliveryEngine, store: Store, clock: Clock, url: str, **kw: Any) -> int:
    return engine.enqueue(add_conversion(store, clock), url, **kw)


def attempts(store: Store, delivery_id: int) -> list[Row]:
    return store.select("attempts", {"delivery_id": delivery_id}, order_by="number")


def delivery(store: Store, delivery_id: int) -> Row:
    row = store.get("deliveries", delivery_id)
    assert row is not None
    return row


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DeliveryRig:
    """The helpers delivery tests share, handed out by the `rig` fixture."""

    WAIT_S = WAIT_S
    Reply = Reply
    make_engine = staticmethod(make_engine)
    enqueue = staticmethod(enqueue)
    attempts = staticmethod(attempts)
    delivery = staticmethod(delivery)
    closed_port = staticmethod(closed_port)


@pytest.fixture
def rig() -> type[DeliveryRig]:
    return DeliveryRig
