"""Locks on a file beside the database, shared by the processes `serve --workers N` forks.

gunicorn's workers serve one SQLite file; the delivery engine and the gRPC mock (one port) must
run in exactly one of them. The worker that holds the `primary` lock runs them; the kernel drops
an `flock` when its holder dies, so the worker gunicorn forks in its place takes it over.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager


class FileLock:
    """An exclusive `flock` on `path` (created if missing), held until `release` or exit."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it; True when this process holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for a block, waiting for other processes to let it go."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def primary(db_path: str) -> FileLock:
    """The lock whose holder runs a database's delivery engine and gRPC mock."""
    return FileLock(f"{db_path}.primary.lock")


def startup(db_path: str) -> FileLock:
    """The lock that lets one worker at a time create the schema and seed the demo offer."""
    return FileLock(f"{db_path}.startup.lock")
