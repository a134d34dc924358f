"""Starting and stopping the servers a benchmark needs, so that everything started is stopped:
on success, on failure and on Ctrl-C (each process runs in its own session and its whole
process group is terminated, then killed)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

LOCALHOST = "127.0.0.1"


class StartError(RuntimeError):
    """A server did not come up in time; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = LOCALHOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds or `timeout` passes; returns whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so `with` blocks clean up as they do on Ctrl-C."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


class ManagedProcess:
    """A server subprocess with its output in a log file; a context manager that always stops
    it. `ready` is polled after launch (default: the port accepts connections)."""

    def __init__(self, name: str, command: list[str], log_path: Path, *, port: int | None = None,
                 env: dict[str, str] | None = None, cwd: str | Path | None = None,
                 ready: Callable[[], bool] | None = None, start_timeout: float = 60.0) -> None:
        self.name = name
        self.command = command
        self.log_path = log_path
        self.port = port
        self.env = env
        self.cwd = cwd
        self.ready = ready or (lambda: port is not None and port_open(port))
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})}, cwd=self.cwd, start_new_session=True)
        finally:
            log.close()
        if not wait_until(lambda: self.ready() or self.process.poll() is not None,
                          self.start_timeout, 0.1) or self.process.poll() is not None:
            tail = self.log_tail()
            self.stop()
            raise StartError(f"{self.name} did not start within {self.start_timeout:g}s "
                             f"({' '.join(self.command[:3])} ...): {tail}")
        return self

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after `grace` seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_benchmark(main: Callable[[], int]) -> None:
    """Exit with main()'s code; Ctrl-C exits 130 once every context has stopped its processes."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
