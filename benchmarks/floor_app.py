"""The framework floor for bench_ingest: `postback-sim serve`'s own gunicorn settings
(`simulator.server.serve_production`: gthread, 16 threads, one worker per core) around a Flask
app that only parses the Meta body and answers `events_received`. Nothing is validated, stored
or checked for faults, so no change inside our handlers can beat it: ours / floor says what our
own work costs, floor / Prism what the server and framework cost before any of it.

    python benchmarks/floor_app.py PORT
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import orjson
from flask import Flask, Response, request

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def create_floor_app() -> Flask:
    app = Flask("floor")

    @app.post("/meta/<version>/<pixel_id>/events")
    def events(version: str, pixel_id: str) -> Response:
        body = orjson.loads(request.get_data())
        return app.response_class(orjson.dumps({
            "events_received": len(body.get("data") or []), "messages": [],
            "fbtrace_id": "AbCdEfGhIjK"}), mimetype="application/json")

    return app


if __name__ == "__main__":
    from simulator.server import serve_production

    serve_production(create_floor_app, "127.0.0.1", int(sys.argv[1]),
                     workers=os.cpu_count() or 1, on_exit=lambda _app: None)
