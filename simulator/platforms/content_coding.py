"""Request bodies sent with a `Content-Encoding`: decoded where the platform takes the coding,
within a bound on the decoded size (a zip bomb stops at the limit), refused where it does not.

Which platform takes what:
- Google Ads and Data Manager (Google's API front end) take gzip request bodies: Google's own
  REST client compresses them by default [official: googleapis/google-api-java-client,
  `AbstractGoogleClientRequest.disableGZipContent`, "Whether to disable GZip compression of HTTP
  content ... The default value is false"].
- Meta's Graph API and TikTok's Events API document no compressed request body, and their
  official SDKs (facebook-business `api.py`, tiktok-business-api-sdk) never send one [open:
  refused with the platform's own parameter error].
"""

from __future__ import annotations

import zlib
from collections.abc import Collection

from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

# RFC 9110 section 8.4.1.3: a recipient SHOULD treat x-gzip as gzip.
GZIP = ("gzip", "x-gzip")
ACCEPTED: dict[str, Collection[str]] = {"google_ads": GZIP, "datamanager": GZIP}
# Used only when the app sets no MAX_CONTENT_LENGTH: a decoded body is never unbounded.
DEFAULT_LIMIT = 16 * 1024 * 1024


class UnsupportedContentCoding(UnsupportedMediaType):
    """415 naming the coding, with the codings that would be taken in `Accept-Encoding`
    (RFC 9110 section 15.5.16)."""

    def __init__(self, coding: str, accepted: Collection[str]) -> None:
        super().__init__(f"Content-Encoding {coding!r} is not supported for this request body")
        self.coding = coding
        self.accepted = tuple(accepted)

    def get_headers(self, environ=None, scope=None) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
        accept = "gzip" if "gzip" in self.accepted else "identity"
        return [*super().get_headers(environ, scope), ("Accept-Encoding", accept)]


def codings(header: str | None) -> list[str]:
    """The codings a `Content-Encoding` lists, in the order applied, without `identity`."""
    names = (part.strip().lower() for part in (header or "").split(","))
    return [name for name in names if name and name != "identity"]


def decode(raw: bytes, header: str | None, accepted: Collection[str], limit: int | None) -> bytes:
    """The body with its codings undone (last applied first, RFC 9110 section 8.4).

    Raises UnsupportedContentCoding (415), BadRequest (400) for a body that is not what its
    header says, or RequestEntityTooLarge (413) once the decoded body passes `limit` bytes.
    """
    for coding in reversed(codings(header)):
        if coding not in accepted:
            raise UnsupportedContentCoding(coding, accepted)
        raw = gunzip(raw, DEFAULT_LIMIT if limit is None else limit)
    return raw


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip (one or more members, RFC 1952 section 2.2), never past `limit` bytes."""
    out = bytearray()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        while True:
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise RequestEntityTooLarge(
                    f"request body is larger than the limit of {limit} bytes once decompressed")
            if inflater.unconsumed_tail:
                data = inflater.unconsumed_tail
            elif inflater.eof and inflater.unused_data:
                data = inflater.unused_data
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif inflater.eof:
                return bytes(out)
            else:
                raise BadRequest("the gzip request body is truncated")
    except zlib.error as exc:
        raise BadRequest(f"the request body is not valid gzip: {exc}") from None

