"""Running the app: a background server for tests and the runner, gunicorn for `serve`."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """Logs nothing per request: the runner and tests own the console."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class BackgroundServer:
    """Serves a WSGI app on 127.0.0.1 in a daemon thread; port 0 picks a free port."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True
    ) -> None:
        handler = _QuietHandler if quiet else None
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=handler
        )
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_port
        # A short poll interval keeps stop() quick; tests start and stop many servers.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"http-{self.port}", daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ListenError(Exception):
    """(host, port) cannot be bound; the message is one line for the console."""


def ensure_can_listen(host: str, port: int) -> None:
    """Raise ListenError with a one-line reason when (host, port) cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            # As gunicorn binds: TIME_WAIT leftovers of a previous run do not count as in use.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as err:
        raise ListenError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def serve_production(
    app_factory: Callable[[], Flask], host: str, port: int, threads: int = 16, workers: int = 1,
    on_exit: Callable[[Flask], None] | None = None,
) -> None:
    """Run under gunicorn (gthread, `workers` processes); the app is built inside each worker
    so the delivery threads and the SQLite connection live in the process that serves requests.
    `on_exit` runs in each worker as it leaves (default: `simulator.app.shutdown`).

    Callers check the port first with `ensure_can_listen`, so a port in use is one line rather
    than gunicorn's five seconds of retry logs.
    """
    from gunicorn.app.base import BaseApplication

    if on_exit is None:
        from simulator.app import shutdown as on_exit

    class _App(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "timeout": 120,
                "graceful_timeout": 5,
                # gunicorn's default 4094-byte request line would answer a long tracking link
                # with its own HTML 414; the app checks lengths and answers in JSON instead.
                "limit_request_line": 0,
                "accesslog": None,
                "loglevel": "warning",
                "worker_exit": lambda _arbiter, worker: on_exit(worker.wsgi)
                if isinstance(getattr(worker, "wsgi", None), Flask)
                else None,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app_factory()

    arbiter_pid = os.getpid()
    try:
        _App().run()
    except SystemExit as stop:
        # gunicorn leaves by sys.exit, even on a clean Ctrl-C; returning lets the caller say
        # "stopped". The forked worker re-raises so only the arbiter's process carries on.
        if os.getpid() != arbiter_pid or stop.code not in (0, None):
            raise
