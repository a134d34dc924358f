"""Google credential files whose `token_uri` is the simulator's `/oauth2/token`.

An unmodified receiver reads one of them through its client's own setting: google-ads'
`json_key_file_path` (env `GOOGLE_ADS_JSON_KEY_FILE_PATH`) for the service-account key, or
Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`) for either file. The key is a
real RSA key (the client signs its JWT with it); the simulator accepts any well-formed
assertion, so nothing else about the account has to exist.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SERVICE_ACCOUNT_FILE = "service-account.json"
AUTHORIZED_USER_FILE = "authorized-user.json"
PROJECT = "postback-sim"
CLIENT_EMAIL = f"receiver@{PROJECT}.iam.gserviceaccount.com"


@dataclass(frozen=True)
class CredentialFiles:
    service_account: Path
    authorized_user: Path


def token_uri(sim_url: str) -> str:
    return f"{sim_url.rstrip('/')}/oauth2/token"


def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def service_account_info(sim_url: str) -> dict[str, str]:
    """The fields of a key file as the Cloud console downloads it."""
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": secrets.token_hex(20),
        "private_key": _private_key_pem(),
        "client_email": CLIENT_EMAIL,
        "client_id": str(secrets.randbelow(10**21)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri(sim_url),
        "universe_domain": "googleapis.com",
    }


def authorized_user_info(sim_url: str) -> dict[str, str]:
    """What `gcloud auth application-default login` writes, with the simulator's token_uri."""
    return {
        "type": "authorized_user",
        "client_id": f"{secrets.randbelow(10**12)}-postback-sim.apps.googleusercontent.com",
        "client_secret": secrets.token_urlsafe(24),
        "refresh_token": f"1//sim-{secrets.token_urlsafe(48)}",
        "token_uri": token_uri(sim_url),
        "universe_domain": "googleapis.com",
    }


def write(out_dir: Path, sim_url: str) -> CredentialFiles:
    """Write both files into `out_dir` (created if needed; owner-only, as they hold secrets)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = CredentialFiles(out_dir / SERVICE_ACCOUNT_FILE, out_dir / AUTHORIZED_USER_FILE)
    for path, info in ((files.service_account, service_account_info(sim_url)),
                       (files.authorized_user, authorized_user_info(sim_url))):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(info, out, indent=2)
            out.write("\n")
    return files
