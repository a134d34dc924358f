"""Meta `event_time` in the future: no documented limit, so the mock accepts the request and
records a finding past 10 minutes ahead (platform-rules §2, [open])."""

from __future__ import annotations

import pytest

URL = "/meta/v21.0/1234567890/events?access_token=EAAGtesttoken0123456789"


def send_at(client, event_time: int):
    event = {"event_name": "Lead", "event_time": event_time, "action_source": "system_generated",
             "user_data": {"external_id": "a" * 64}}
    return client.post(URL, json={"data": [event]})


@pytest.mark.parametrize(
    ("ahead", "flagged"),
    [(0, False), (9 * 60, False), (11 * 60, True), (30 * 86400, True)],
    ids=["now", "nine-minutes-ahead", "eleven-minutes-ahead", "a-month-ahead"],
)
def test_a_future_event_time_is_accepted_and_flagged_past_ten_minutes(
    client, services, ahead, flagged
):
    now = int(services.clock.time())
    resp = send_at(client, now + ahead)
    assert resp.status_code == 200
    assert resp.json["events_received"] == 1
    entry = client.get("/api/journal").json["items"][-1]
    codes = [(f["code"], f["field"]) for f in entry["events"][0]["findings"]]
    assert (("event_time_in_future", "data[0].event_time") in codes) is flagged
    assert entry["accepted"] is True
