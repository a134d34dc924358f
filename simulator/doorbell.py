"""Waking the delivery engine from any process that serves the same database file.

`serve --workers N` runs the engine in one worker only, so a conversion created in another worker
would wait for the engine's idle re-check (`delivery_queue.MAX_IDLE_S`) before it is sent. The
running engine listens on a Unix datagram socket named after the database file, in Linux's
abstract namespace (no file to leave behind, no path length limit); `ring()` from any process
sends it one byte. Best effort by design: where no socket can be bound (not Linux, an in-memory
database, a second engine on the file) the re-check still finds the work.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys


class Doorbell:
    """The wake-up line of one database file's delivery engine."""

    def __init__(self, db_path: str) -> None:
        usable = db_path != ":memory:" and sys.platform.startswith("linux")
        digest = hashlib.sha256(os.path.abspath(db_path).encode()).hexdigest()[:32]
        self.address = b"\0postback-sim-engine-" + digest.encode() if usable else None

    def listen(self) -> socket.socket | None:
        """A non-blocking socket that receives the rings, or None when it cannot be had (taken by
        another engine on the same file, or no abstract namespace here)."""
        if self.address is None:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(self.address)
        except OSError:
            sock.close()
            return None
        sock.setblocking(False)
        return sock

    def ring(self) -> None:
        """Tell the engine listening for this file that work may be due; never blocks or
        raises (no engine listening, or its socket full: it is awake already)."""
        if self.address is None:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.sendto(b"!", self.address)


def drain(sock: socket.socket) -> None:
    """Read every ring waiting on a listening socket (one wake-up serves them all)."""
    with contextlib.suppress(OSError):
        while sock.recv(64):
            pass
