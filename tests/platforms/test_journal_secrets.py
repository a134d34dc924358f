"""Secrets never reach the journal, wherever the client put them (query, header or body)."""

from __future__ import annotations

import json

import pytest

from simulator.platforms.journal import mask_body

TOKEN = "EAAGsecrettoken0123456789"
PROOF = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
META = "/meta/v21.0/1234567890/events"


def meta_event(now: int) -> dict:
    return {"event_name": "Lead", "event_time": now - 60, "action_source": "system_generated",
            "user_data": {"external_id": "a" * 64}}


def entry_text(client) -> str:
    return json.dumps(client.get("/api/journal").json["items"][-1], ensure_ascii=False)


@pytest.mark.parametrize(
    "how",
    ["query", "json-body", "form-body", "multipart-body", "bearer-header"],
)
def test_a_meta_token_is_masked_wherever_it_was_sent(client, services, how):
    now = int(services.clock.time())
    data = json.dumps([meta_event(now)])
    if how == "query":
        resp = client.post(f"{META}?access_token={TOKEN}&appsecret_proof={PROOF}",
                           data={"data": data})
    elif how == "json-body":
        resp = client.post(META, json={"data": [meta_event(now)], "access_token": TOKEN,
                                       "appsecret_proof": PROOF})
    elif how == "form-body":
        resp = client.post(META, data={"data": data, "access_token": TOKEN,
                                       "appsecret_proof": PROOF})
    elif how == "multipart-body":
        resp = client.post(META, data={"data": data, "access_token": TOKEN,
                                       "appsecret_proof": PROOF},
                           content_type="multipart/form-data")
    else:
        resp = client.post(META, json={"data": [meta_event(now)]},
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200
    text = entry_text(client)
    assert TOKEN not in text
    assert PROOF not in text


def test_a_masked_json_body_is_still_the_same_json_apart_from_the_token(client, services):
    now = int(services.clock.time())
    client.post(META, json={"data": [meta_event(now)], "access_token": TOKEN})
    body = json.loads(client.get("/api/journal").json["items"][-1]["body"])
    assert body["data"][0]["event_name"] == "Lead"
    assert body["access_token"] == TOKEN[:4] + "…"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/tiktok/open_api/v1.3/event/track/", {"Access-Token": TOKEN}),
        ("/google-ads/v18/customers/1234567890:uploadClickConversions",
         {"developer-token": TOKEN, "Authorization": f"Bearer {TOKEN}"}),
        ("/datamanager/v1/events:ingest", {"Authorization": f"Bearer {TOKEN}"}),
    ],
    ids=["tiktok", "google-ads", "datamanager"],
)
def test_header_tokens_of_every_platform_are_masked(client, path, headers):
    client.post(path, json={}, headers=headers)
    assert TOKEN not in entry_text(client)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"access_token": "abc\\"defghijk"}', '{"access_token": "…"}'),
        ("data=1&xaccess_token=keep", "data=1&xaccess_token=keep"),
        ("access_token=short", "access_token=…"),
    ],
    ids=["escape-never-cut", "other-field-kept", "short-token"],
)
def test_mask_body_keeps_the_body_parseable(body, expected):
    assert mask_body(body) == expected
