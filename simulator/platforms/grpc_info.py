"""`GET /api/grpc`: where the gRPC mock listens and which certificate it presents, so tools
(the runner's demo, scripts, the dashboard) can configure a client without guessing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

bp = Blueprint("grpc_info", __name__, url_prefix="/api")

EXTENSION_KEY = "postback_sim.grpc"


def attach(app: Flask, info: dict[str, Any]) -> None:
    """Record what the process serves over gRPC (endpoint, cert_path, plaintext_endpoint)."""
    app.extensions[EXTENSION_KEY] = info


@bp.get("/grpc")
def grpc_info() -> Response:
    """The gRPC mock's endpoint and certificate, or `serving: false` with the reason."""
    info = current_app.extensions.get(EXTENSION_KEY)
    token_uri = f"{request.host_url.rstrip('/')}/oauth2/token"
    if not info:
        return jsonify({"serving": False, "reason": "this simulator serves no gRPC",
                        "token_uri": token_uri})
    return jsonify({"serving": True, **info, "token_uri": token_uri})
