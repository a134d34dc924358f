"""The OpenAPI document at /api/openapi.json stays in step with the app's routes."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator
from werkzeug.exceptions import HTTPException

from simulator.openapi import document

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/click":
            methods = {m.lower() for m in rule.methods or ()} & HTTP_METHODS
            routes.setdefault(_openapi_path(rule.rule), set()).update(methods)
    return routes


def _documented() -> dict[str, set[str]]:
    return {path: set(item) & HTTP_METHODS for path, item in document()["paths"].items()}


def test_every_api_route_is_documented(app):
    documented = _documented()
    missing = sorted(
        f"{method.upper()} {path}"
        for path, methods in _routes(app).items()
        for method in methods - documented.get(path, set())
    )
    assert missing == []


def _answers(adapter, path: str, method: str) -> bool:
    sample = re.sub(r"\{[^{}]+\}", "1", path)
    try:
        adapter.match(sample, method=method.upper())
    except HTTPException:
        return False
    return True


def test_every_documented_operation_exists(app):
    adapter = app.url_map.bind("localhost")
    extra = sorted(
        f"{method.upper()} {path}"
        for path, methods in _documented().items()
        for method in methods
        if not _answers(adapter, path, method)
    )
    assert extra == []


def test_document_is_openapi_3_1_shaped():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"]
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        for method in set(item) & HTTP_METHODS:
            assert item[method]["responses"], f"{method} {path} has no responses"


def test_every_reference_resolves():
    doc = document()
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc))
    assert refs
    assert sorted(set(refs) - set(doc["components"]["schemas"])) == []


@pytest.mark.parametrize("name", sorted(document()["components"]["schemas"]))
def test_component_schema_is_a_valid_json_schema(name):
    Draft202012Validator.check_schema(document()["components"]["schemas"][name])


def test_served_document_is_the_merged_one(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    assert resp.json["paths"].keys() == document()["paths"].keys()


def test_a_journal_entry_with_a_request_level_finding_matches_the_document(client):
    client.post("/google-ads/v18/customers/1234567890:uploadClickConversions", data="{",
                content_type="application/json", headers={"Authorization": "Bearer t"})
    [entry] = client.get("/api/journal").json["items"]
    assert entry["findings"][0]["field"] is None
    doc = document()
    schema = {"$ref": "#/components/schemas/JournalEntry", "components": doc["components"]}
    assert list(Draft202012Validator(schema).iter_errors(entry)) == []
