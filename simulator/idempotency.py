"""Idempotent creation: a creating API call sent with an `Idempotency-Key` header is answered
once; a retry with the same key gets the first answer again and creates nothing.

Follows the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-
idempotency-key-header): the key is scoped to the method and path, a reuse with a different
request is a 422, and the stored answer is kept for KEEP_S. The key and what the call created
commit in one SQLite transaction, so a crash between them leaves both or neither, and a
concurrent retry waits for the first call to finish, then replays it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, make_response, request

from simulator.errors import ApiError
from simulator.services import services

HEADER = "Idempotency-Key"
# How long a key's answer is kept, as Stripe does (a day); older keys are pruned on write.
KEEP_S = 24 * 3600.0
# Printable ASCII without spaces, as a header value can carry it unquoted.
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


def _fingerprint() -> str:
    digest = hashlib.sha256(request.query_string)
    digest.update(b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not KEY_RE.fullmatch(key):
        raise ApiError(f"{HEADER}: expected 1 to 255 printable ASCII characters",
                       field=HEADER)
    return key


def _replay(row: dict[str, Any]) -> Response:
    response = Response(row["body"], status=row["status"], content_type=row["content_type"])
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Make a creating view honour `Idempotency-Key`; without the header it runs as before."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        svc = services()
        fingerprint = _fingerprint()
        with svc.store.transaction() as store:
            row = store.query_one(
                "SELECT * FROM idempotency_keys WHERE key = ? AND method = ? AND path = ?",
                (key, request.method, request.path),
            )
            if row is not None:
                if row["fingerprint"] != fingerprint:
                    raise ApiError(
                        f"{HEADER}: this key was used for a different request; use a new key "
                        "for a new request", code="idempotency_key_reused", field=HEADER,
                        status=422,
                    )
                return _replay(row)
            response = make_response(view(*args, **kwargs))
            if response.status_code < 300:
                # Only successes are kept: a refused call created nothing, so a corrected
                # retry under the same key may still succeed.
                now = svc.clock.time()
                store.execute("DELETE FROM idempotency_keys WHERE ts < ?", (now - KEEP_S,))
                store.insert("idempotency_keys", {
                    "key": key, "method": request.method, "path": request.path,
                    "fingerprint": fingerprint, "status": response.status_code,
                    "body": response.get_data(as_text=True),
                    "content_type": response.content_type or "application/json", "ts": now,
                })
        return response

    return wrapper
