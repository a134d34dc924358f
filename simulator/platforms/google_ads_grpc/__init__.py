"""Google Ads over gRPC: what Google's client libraries speak, served beside the REST mocks.

Needs the `[grpc]` extra (grpcio, protobuf, cryptography); `missing()` says so in one line, and
nothing here imports grpc until a server starts.
"""

from __future__ import annotations

from importlib.util import find_spec

HINT = "gRPC mock off: pip install 'postback-sim[grpc]' (grpcio, protobuf, cryptography)"
DEFAULT_PORT = 8001


def missing() -> str | None:
    """The one-line install hint when the `[grpc]` extra is not installed, else None."""
    for module in ("grpc", "google.protobuf", "cryptography"):
        try:
            found = find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return HINT
    return None
