"""Serves /api/openapi.json, merged from each blueprint's fragment (kept in step by a test)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("openapi", __name__)

FRAGMENTS = ("simulator.network", "simulator.platforms")


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the JSON API."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "postback-sim API",
            "version": "0.1.0",
            "description": "Partner network and mock ad platforms. Errors are "
            '`{"error": {"code", "message", "field"}}` with a 4xx status.',
        },
        "paths": {},
        "components": {"schemas": {}},
    }
    for package in FRAGMENTS:
        res = resources.files(package).joinpath("openapi.json")
        if not res.is_file():
            continue
        part = json.loads(res.read_text(encoding="utf-8"))
        doc["paths"].update(part.get("paths", {}))
        doc["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    return doc


@bp.get("/api/openapi.json")
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())
