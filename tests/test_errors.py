"""HTTP errors answered in JSON keep the headers the status calls for."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/api/offers", {"GET", "POST"}),
     ("GET", "/meta/v21.0/123/events", {"POST"}),
     ("PUT", "/ui/api/runs", {"POST"})],
    ids=["api", "mock", "dashboard-data"],
)
def test_a_json_405_names_the_allowed_methods(client, method, path, allowed):
    resp = client.open(path, method=method)
    assert resp.status_code == 405
    assert resp.is_json
    assert allowed <= {m.strip() for m in resp.headers["Allow"].split(",")}


def test_an_answer_echoing_a_lone_surrogate_is_still_sent(client):
    resp = client.post("/api/postbacks/validate", json={"url": "https://x.test/?c={sub1}"})
    assert resp.status_code == 200
    with client.application.app_context():
        text = client.application.json.dumps({"value": "\ud800"})
    assert text == '{"value": "\\ud800"}'
