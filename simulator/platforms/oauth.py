"""Mock Google OAuth 2.0 token endpoint: `POST /oauth2/token`, as https://oauth2.googleapis.com/token.

Google's client libraries refresh a token before their first call. A service-account key file
and an `authorized_user` ADC file carry their own `token_uri`, so pointing it here
(`postback-sim google-credentials`) lets an unmodified receiver authenticate against the mocks.
Grants [official: developers.google.com/identity/protocols/oauth2/service-account#httprest and
.../oauth2/web-server#offline]: `refresh_token` (client_id, client_secret, refresh_token) and the
JWT-bearer grant of service accounts (any well-formed assertion: the mock holds no keys to check a
signature). Errors are the RFC 6749 section 5.2 bodies Google sends,
`{"error": "unsupported_grant_type", "error_description": "Invalid grant_type: ..."}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, request

bp = Blueprint("oauth", __name__)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH = "refresh_token"
# Google's access tokens last an hour and are reported as 3599 seconds.
EXPIRES_IN = 3599
REQUIRED = {REFRESH: ("client_id", "client_secret", "refresh_token"), JWT_BEARER: ("assertion",)}


def _segment(text: str) -> Any:
    padded = text + "=" * (-len(text) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def well_formed_jwt(assertion: str) -> bool:
    """Three base64url segments whose first two are JSON objects, the payload naming its issuer."""
    parts = assertion.split(".")
    if len(parts) != 3 or not all(parts):
        return False
    try:
        header, claims = _segment(parts[0]), _segment(parts[1])
    except (ValueError, binascii.Error, UnicodeError):
        return False
    return isinstance(header, dict) and isinstance(claims, dict) and bool(claims.get("iss"))


def token_answer(params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """(status, body) for one token request's parameters; nothing here touches Flask."""
    grant = params.get("grant_type", "")
    if grant not in REQUIRED:
        return 400, {"error": "unsupported_grant_type",
                     "error_description": f"Invalid grant_type: {grant}"}
    for name in REQUIRED[grant]:
        if not params.get(name):
            return 400, {"error": "invalid_request",
                         "error_description": f"Missing required parameter: {name}"}
    if grant == JWT_BEARER and not well_formed_jwt(params["assertion"]):
        return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    body: dict[str, Any] = {
        "access_token": f"ya29.sim-{secrets.token_urlsafe(48)}",
        "expires_in": EXPIRES_IN,
        "token_type": "Bearer",
    }
    if grant == REFRESH:
        body["scope"] = params.get("scope") or "https://www.googleapis.com/auth/adwords"
    return 200, body


@bp.post("/oauth2/token")
def token() -> Response:
    """Answer a token request sent as a form (what google-auth sends) or as JSON."""
    params: dict[str, Any] = request.form.to_dict()
    if not params and request.is_json:
        loaded = request.get_json(silent=True)
        params = {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    status, body = token_answer(params)
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    return resp
