"""The dashboard's data endpoints (issue 10): hostile query strings and bodies get JSON 4xx,
and the inspector is paged, with bodies cut to a preview and one entry in full on demand."""

from __future__ import annotations

import json

import pytest

from simulator.dashboard import inspector


@pytest.mark.parametrize(
    "query",
    ["after_id=99999999999999999999999", "after_id=%C2%B3", "limit=-1", "limit=0",
     "limit=100000", "before_id=0", "platform=myspace", "surprise=1"],
)
def test_the_inspector_refuses_out_of_range_parameters(client, query):
    resp = client.get(f"/ui/api/inspector?{query}")
    assert resp.status_code == 400
    assert resp.is_json


def test_the_conversions_page_ignores_an_offer_id_past_sqlite_integers(client):
    resp = client.get("/conversions?offer_id=99999999999999999999999")
    assert resp.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({"profile_path": "p.yaml", "tags": 5}, "tags"),
     ({"profile_path": "p.yaml", "scenarios": "meta-basic"}, "scenarios"),
     ({"profile_path": "p.yaml", "tags": [1]}, "tags"),
     ({"profile_yaml": 7}, "profile_yaml")],
    ids=["tags-number", "scenarios-string", "tags-of-numbers", "yaml-number"],
)
def test_starting_a_run_with_wrong_types_is_a_400_naming_the_field(client, body, field):
    resp = client.post("/ui/api/runs", json=body)
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == field


def _post_meta(client, n: int, padding: str = "") -> None:
    for i in range(n):
        event = {"event_name": "Purchase", "event_time": 1, "event_id": f"e{i}{padding}",
                 "action_source": "website", "user_data": {"client_ip_address": "1.2.3.4"}}
        client.post("/meta/v21.0/123/events?access_token=EAAtest", json={"data": [event]})


def test_the_inspector_pages_back_through_the_journal_without_gaps(client):
    _post_meta(client, 7)
    seen, before = [], None
    for _ in range(10):
        query = f"limit=3&before_id={before}" if before else "limit=3"
        page = client.get(f"/ui/api/inspector?{query}").get_json()
        seen += [item["id"] for item in page["items"]]
        before = page["next_before_id"]
        if before is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_a_large_body_is_cut_in_the_list_and_whole_on_demand(client):
    _post_meta(client, 1, padding="x" * 20000)
    [item] = client.get("/ui/api/inspector").get_json()["items"]
    assert item["body_truncated"] is True
    assert len(item["body"]) == inspector.PREVIEW_BODY
    assert item["body_chars"] > 20000
    full = client.get(f"/ui/api/inspector/{item['id']}").get_json()
    assert full["body_truncated"] is False
    assert json.loads(full["body"])["data"][0]["event_id"].endswith("x" * 20000)
    assert full["rule_findings"] == item["rule_findings"]


def test_an_unknown_inspector_entry_is_a_json_404(client):
    resp = client.get("/ui/api/inspector/99")
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"
