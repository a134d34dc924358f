"""Fault injection: the next N requests to a platform fail the way real APIs fail."""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any

from simulator.clock import Clock, iso
from simulator.store import Row, Store

KINDS = ("status", "delay", "reset", "throttle")
# The oldest fault still armed for a platform.
_ARMED = "FROM faults WHERE platform = ? AND remaining > 0 ORDER BY id LIMIT 1"


def add(
    store: Store,
    clock: Clock,
    *,
    platform: str,
    kind: str,
    count: int = 1,
    status: int | None = None,
    retry_after: float | None = None,
    delay: float | None = None,
) -> Row:
    """Arm a fault for the next `count` requests to `platform`."""
    row_id = store.insert(
        "faults",
        {
            "platform": platform,
            "kind": kind,
            "status": status,
            "retry_after": retry_after,
            "delay": delay,
            "remaining": count,
            "created_at": iso(clock.now()),
        },
    )
    return store.get("faults", row_id) or {}


def take(store: Store, platform: str) -> Row | None:
    """Consume one armed fault for `platform`, oldest first; None when none is armed.

    Every mock request asks, and almost always none is armed: a plain read answers that without
    the write lock, which `serve`'s workers would otherwise queue on once per request.
    """
    if store.query_one(f"SELECT 1 AS armed {_ARMED}", (platform,)) is None:
        return None
    with store.transaction():
        row = store.query_one(f"SELECT * {_ARMED}", (platform,))
        if row:
            store.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row["id"],))
    return row


def clear(store: Store, platform: str | None = None) -> int:
    if platform:
        return store.execute("DELETE FROM faults WHERE platform = ?", (platform,))
    return store.execute("DELETE FROM faults")


def describe(fault: Row) -> str:
    if fault["kind"] in ("status", "throttle"):
        extra = f" Retry-After {fault['retry_after']:g}" if fault["retry_after"] else ""
        what = "throttle" if fault["kind"] == "throttle" else f"status {fault['status']}"
        return f"{what}{extra}"
    if fault["kind"] == "delay":
        return f"delay {fault['delay']:g}s"
    return "connection reset"


def enact_delay(fault: Row) -> None:
    """A delay fault: wait, then let the request be handled normally."""
    time.sleep(max(0.0, float(fault["delay"] or 0.0)))


def reset_connection(environ: dict[str, Any]) -> bool:
    """Abort the TCP connection with an RST, as a crashing load balancer would.

    Works where the WSGI server exposes the socket (werkzeug, gunicorn); returns False otherwise.
    """
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Closing the last descriptor of a zero-linger socket sends the RST; shutdown() would
        # send a FIN. dup2 closes it in place, over a socket whose peer is gone, so the server's
        # later reads see EOF and its writes EPIPE: a client that hung up, which werkzeug and
        # gunicorn handle quietly.
        placeholder, peer = socket.socketpair()
        peer.close()
        with placeholder:
            os.dup2(placeholder.fileno(), sock.fileno())
    except OSError:
        return False
    return True
