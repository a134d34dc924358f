"""API errors as JSON: `{"error": {"code", "message", "field"}}` with a 4xx, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A client mistake the API reports with a status, a stable code and the offending field."""

    def __init__(
        self, message: str, *, code: str = "invalid", field: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status = status

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        err["field"] = field
    return {"error": err}


def not_found(what: str, ident: Any, field: str | None = None) -> ApiError:
    return ApiError(f"{what} {ident} does not exist", code="not_found", field=field, status=404)


# Paths that speak JSON; everything else is the dashboard's HTML.
JSON_PREFIXES = ("/api", "/ui/api", "/click", "/meta", "/tiktok", "/google-ads", "/datamanager")

# Path prefixes whose HTTP errors another package words (the mock platforms answer in their own
# error shape): prefix -> renderer(error, message) -> Response. Set with `render_errors_under`.
HttpErrorRenderer = Callable[[HTTPException, str], Response]
RENDERERS_KEY = "postback_sim.http_error_renderers"

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` for ids. Werkzeug's own converter raises ValueError (an HTML-less 500) on a
    path segment past Python's 4300-digit int limit; an id this long matches no route instead,
    so it gets the JSON 404 like any other unknown id."""

    regex = r"\d{1,18}"


def render_errors_under(app: Flask, prefix: str, renderer: HttpErrorRenderer) -> None:
    """Let `renderer` word the HTTP errors (404, 405, 413, ...) of every path under `prefix`."""
    app.extensions.setdefault(RENDERERS_KEY, {})[prefix] = renderer


def _renderer_for(app: Flask, path: str) -> HttpErrorRenderer | None:
    for prefix, renderer in app.extensions.get(RENDERERS_KEY, {}).items():
        if path == prefix or path.startswith(prefix + "/"):
            return renderer
    return None


def register_error_handlers(app: Flask) -> None:
    """JSON errors everywhere except the dashboard's HTML pages.

    Call before registering blueprints: it also installs the bounded `int` route converter.
    """
    app.url_map.converters["int"] = BoundedIntConverter

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> tuple[Response, int]:
        return jsonify(err.body()), err.status

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Any:
        if not request.path.startswith(JSON_PREFIXES):
            return err
        code = _HTTP_CODES.get(err.code or 500, "http_error")
        message = err.description or err.name
        if err.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body is larger than the limit of {limit} bytes"
        renderer = _renderer_for(app, request.path)
        if renderer is not None:
            response = renderer(err, message)
        else:
            response = jsonify(error_body(code, message))
            response.status_code = err.code or 500
        # Keep what the exception says beyond its HTML body, e.g. a 405's `Allow` (RFC 9110
        # section 15.5.6: a 405 response MUST carry Allow).
        for name, value in err.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> tuple[Response, int]:
        # A safety net: a bug in the simulator must still answer in JSON, and the log keeps it.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error_body("internal_error", f"{type(err).__name__}: {err}")), 500
