"""The ingest peers, configured for the same Meta request: WireMock (npm `wiremock`, its
standalone jar under Java 17) with a JSON-schema-matching stub and its default unbounded
request journal, and Prism (npm `@stoplight/prism-cli`) serving a minimal OpenAPI 3.1
description of the endpoint. Both come from `benchmarks/.peers` (README.md says how)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import meta_contract
from processes import LOCALHOST, ManagedProcess, free_port

PEERS_DIR = Path(__file__).resolve().parent / ".peers"
MODULES = PEERS_DIR / "node_modules"
SUCCESS = {"events_received": 1, "messages": [], "fbtrace_id": "AbCdEfGhIjK"}


def wiremock_jar() -> Path | None:
    jars = sorted((MODULES / "wiremock" / "build").glob("*.jar"))
    return jars[0] if jars else None


def wiremock_version() -> str:
    try:
        return json.loads((MODULES / "wiremock" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "not installed"


def prism_version() -> str:
    try:
        package = MODULES / "@stoplight" / "prism-cli" / "package.json"
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "not installed"


def wiremock_description() -> str:
    return (f"WireMock {wiremock_version()} standalone jar (npm wiremock) on Java 17: defaults "
            "(request journal ON, unbounded, in memory; no --max-request-journal-entries; "
            "default container threads), stub = POST urlPath + matchesJsonSchema (2020-12) of "
            "the mock's Meta event schema")


def prism_description() -> str:
    return (f"Prism {prism_version()} (npm @stoplight/prism-cli) `prism mock`, request "
            "validation on, static example response, OpenAPI 3.1 with the same schema")


def floor_description() -> str:
    return ("benchmarks/floor_app.py: serve's gunicorn settings (gthread, 16 threads, a worker "
            "per core) around Flask parsing the body and answering events_received; nothing "
            "validated, journaled or fault-checked")


def floor(root: Path) -> ManagedProcess:
    """The framework floor (floor_app.py): what serve's server and Flask cost on their own."""
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve().parent / "floor_app.py"), str(port)]
    return ManagedProcess("framework floor", command, root / "floor.log", port=port)


def wiremock(root: Path) -> ManagedProcess:
    """WireMock with one stub: the Meta path, a body matching the request schema -> 200."""
    jar = wiremock_jar()
    java = shutil.which("java")
    if jar is None or java is None:
        raise FileNotFoundError("WireMock needs benchmarks/.peers (npm install wiremock) and java")
    home = root / "wiremock"
    (home / "mappings").mkdir(parents=True, exist_ok=True)
    (home / "__files").mkdir(exist_ok=True)
    stub = {
        "request": {
            "method": "POST",
            "urlPath": meta_contract.PATH,
            "bodyPatterns": [{"matchesJsonSchema": meta_contract.request_schema(),
                              "schemaVersion": "V202012"}],
        },
        "response": {"status": 200, "jsonBody": SUCCESS,
                     "headers": {"Content-Type": "application/json"}},
    }
    (home / "mappings" / "meta.json").write_text(json.dumps(stub), encoding="utf-8")
    port = free_port()
    command = [java, "-jar", str(jar), "--port", str(port), "--bind-address", LOCALHOST,
               "--root-dir", str(home), "--disable-banner"]
    return ManagedProcess("WireMock", command, root / "wiremock.log", port=port,
                          start_timeout=90)


def openapi_document() -> dict:
    """A minimal OpenAPI 3.1 description of the Meta events endpoint."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Meta Conversions API (events only)", "version": "21.0"},
        "paths": {
            "/meta/v21.0/{pixel_id}/events": {
                "post": {
                    "operationId": "postEvents",
                    "parameters": [
                        {"name": "pixel_id", "in": "path", "required": True,
                         "schema": {"type": "string", "pattern": "^[0-9]+$"}},
                        {"name": "access_token", "in": "query", "required": True,
                         "schema": {"type": "string", "minLength": 1}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/EventsRequest"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "accepted",
                            "content": {"application/json": {
                                "schema": {"type": "object"}, "example": SUCCESS}},
                        },
                    },
                },
            },
        },
        "components": {"schemas": {
            "EventsRequest": meta_contract.request_schema("#/components/schemas/"),
            **meta_contract.schema_defs(),
        }},
    }


def prism(root: Path) -> ManagedProcess:
    binary = MODULES / ".bin" / "prism"
    node = shutil.which("node")
    if not binary.exists() or node is None:
        raise FileNotFoundError("Prism needs benchmarks/.peers (npm install @stoplight/prism-cli)")
    spec = root / "meta-openapi.json"
    spec.write_text(json.dumps(openapi_document(), indent=1), encoding="utf-8")
    port = free_port()
    command = [str(binary), "mock", "-h", LOCALHOST, "-p", str(port), str(spec)]
    return ManagedProcess("Prism", command, root / "prism.log", port=port, start_timeout=90)

