"""The Google Ads gRPC mock beside an in-process simulator, and what a receiver built on Google's
client libraries needs to reach it: the libraries' own environment variables."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import requests
from flask import Flask

DEVELOPER_TOKEN = "test-developer-token"


def start_beside(app: Flask, http_port: int, grpc_port: int | None, stack: ExitStack,
                 cert_dir: Path | None = None) -> None:
    """Serve `app`'s Google Ads mock over gRPC until `stack` closes; nothing when the `[grpc]`
    extra is missing (`GET /api/grpc` then says why). Port None: `http_port + 1`, or any free
    port when `http_port` is 0. OSError when the port cannot be bound."""
    from simulator.platforms import google_ads_grpc

    if google_ads_grpc.missing():
        return
    from simulator.platforms.google_ads_grpc import certificate, server

    if grpc_port is None:
        grpc_port = http_port + 1 if http_port else 0
    running = server.start(app, port=grpc_port,
                           cert_dir=cert_dir or certificate.state_dir(":memory:"))
    stack.callback(running.stop)


def client_library_env(sim_url: str, credentials_dir: Path) -> dict[str, str]:
    """Environment for an unmodified google-ads client (`GoogleAdsClient.load_from_env()`) and any
    gRPC-core client: endpoint, trusted certificate, credential files whose token_uri is the
    simulator's. Empty when the simulator serves no gRPC."""
    info = requests.get(f"{sim_url.rstrip('/')}/api/grpc", timeout=10).json()
    if not info.get("serving"):
        return {}
    from simulator.platforms import google_credentials

    files = google_credentials.write(credentials_dir, sim_url)
    return {
        "GOOGLE_ADS_ENDPOINT": info["endpoint"],
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": info["cert_path"],
        "GOOGLE_ADS_JSON_KEY_FILE_PATH": str(files.service_account),
        # The key file, not the authorized_user one: google-auth for Python ignores the latter's
        # token_uri (googleapis/google-auth-library-python#1062).
        "GOOGLE_APPLICATION_CREDENTIALS": str(files.service_account),
        "GOOGLE_ADS_DEVELOPER_TOKEN": DEVELOPER_TOKEN,
        "GOOGLE_ADS_USE_PROTO_PLUS": "true",
    }
