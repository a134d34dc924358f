"""The gRPC mock's TLS certificate: self-signed for 127.0.0.1 and localhost, made once and kept.

Google's client libraries always open a TLS channel; they trust this certificate when told to,
e.g. `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=<cert>` for every gRPC-core client (Python, Ruby, PHP,
.NET's Grpc.Core, Node's grpc-js through its own root option).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

CERT_NAME = "postback-sim-grpc-cert.pem"
KEY_NAME = "postback-sim-grpc-key.pem"
VALID_DAYS = 3650


@dataclass(frozen=True)
class Certificate:
    """Where the PEM files are, and their bytes for grpc.ssl_server_credentials."""

    cert_path: Path
    key_path: Path

    def pair(self) -> tuple[bytes, bytes]:
        return self.key_path.read_bytes(), self.cert_path.read_bytes()


def state_dir(db_path: str) -> Path:
    """Beside the database file; for an in-memory database (`run`, `demo`), the user's cache
    folder, so every in-process simulator presents the same certificate."""
    if db_path == ":memory:" or not db_path:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "postback-sim"
    return Path(db_path).expanduser().resolve().parent


def locate(directory: Path) -> Certificate:
    return Certificate(directory / CERT_NAME, directory / KEY_NAME)


def ensure(directory: Path) -> Certificate:
    """The certificate in `directory`, generated on first use (RSA 2048, SAN 127.0.0.1 and
    localhost, ten years)."""
    found = locate(directory)
    if found.cert_path.is_file() and found.key_path.is_file():
        return found
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "postback-sim local gRPC")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False)
        # A self-signed leaf that is also its own CA, so it can be the client's only root.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write(found.key_path, key_pem, 0o600)
    _write(found.cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return found


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically, so two processes starting at once never read half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)
