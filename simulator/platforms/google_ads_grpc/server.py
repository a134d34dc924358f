"""The gRPC server beside the Flask app: same process, same store, its own port."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from flask import Flask

from simulator.platforms import grpc_info
from simulator.platforms.google_ads_grpc import certificate
from simulator.platforms.google_ads_grpc.service import UploadService

# Requests up to 2,000 conversions; Google's own limit on a request is 64 MiB as well.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
GRACE_S = 2.0
SERVER_KEY = "postback_sim.grpc_server"


@dataclass
class GrpcServer:
    """A running gRPC mock: TLS on `port`, optionally plaintext on `plaintext_port`."""

    server: grpc.Server
    host: str
    port: int
    cert_path: Path
    plaintext_port: int | None = None

    @property
    def endpoint(self) -> str:
        """What a client library's `endpoint` setting takes: host:port, no scheme."""
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.stop(GRACE_S).wait(GRACE_S + 1)


def start(
    app: Flask,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    cert_dir: Path,
    plaintext_port: int | None = None,
    threads: int = 16,
) -> GrpcServer:
    """Serve UploadClickConversions for `app` over TLS (certificate made in `cert_dir` on first
    use); port 0 picks a free port. OSError when a port cannot be bound."""
    cert = certificate.ensure(cert_dir)
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
               ("grpc.so_reuseport", 0)]
    server = grpc.server(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="grpc"),
                         handlers=[UploadService(app)], options=options)
    try:
        bound = server.add_secure_port(f"{host}:{port}",
                                       grpc.ssl_server_credentials([cert.pair()]))
        plain = (server.add_insecure_port(f"{host}:{plaintext_port}")
                 if plaintext_port is not None else None)
    except RuntimeError as exc:  # grpc raises RuntimeError("Failed to bind to address ...")
        raise OSError(f"cannot listen on {host}:{port}: {exc}") from None
    server.start()
    running = GrpcServer(server, host, bound, cert.cert_path, plain)
    # The app holds the server: a grpc.Server nobody references is stopped when collected.
    app.extensions[SERVER_KEY] = running
    grpc_info.attach(app, {
        "endpoint": running.endpoint, "cert_path": str(cert.cert_path),
        "plaintext_endpoint": f"{host}:{plain}" if plain is not None else None,
    })
    return running
