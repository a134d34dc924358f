"""The minimal Meta forwarder (fixtures/receivers/faulty/minimal_meta_forwarder.js, run by node)
sends exactly the body its header describes, with each of its bugs, to a fake Meta."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = (Path(__file__).resolve().parents[2] / "fixtures" / "receivers" / "faulty"
          / "minimal_meta_forwarder.js")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node on PATH")


@pytest.fixture
def forwarder(rig: Any, platforms: Any, tmp_path: Path) -> Iterator[Any]:
    """The forwarder started afresh (node starts in well under a second) against the fake Meta."""
    with rig.running(SCRIPT, platforms, tmp_path / "stderr.log") as receiver:
        yield receiver


def sent_event(capture: Any) -> dict[str, Any]:
    (request,) = capture.requests("meta")
    return request.body["data"][0]


def test_sends_only_the_minimal_fields_with_the_bare_fbclid_as_fbc(
    forwarder: Any, platforms: Any, rig: Any
) -> None:
    response = forwarder.send()
    assert response.status_code == 200
    (request,) = platforms.requests()
    assert request.path == "/meta/v21.0/111222333/events"
    assert request.query == {"access_token": "meta-token"}
    event = request.body["data"][0]
    assert set(event) == {"event_name", "event_time", "action_source", "user_data",
                          "custom_data"}  # no event_id, no event_source_url
    assert event["event_name"] == "Purchase"
    assert event["action_source"] == "website"
    assert event["user_data"] == {"fbc": rig.FBCLID}  # no IP, no user agent, not fb.1.<ms>.<id>
    assert event["custom_data"] == {"value": 12.5, "currency": "EUR"}


def test_event_time_is_when_the_postback_arrived(forwarder: Any, platforms: Any,
                                                 rig: Any) -> None:
    before = int(time.time())
    forwarder.send()
    event_time = sent_event(platforms)["event_time"]
    assert isinstance(event_time, int)
    assert before - 1 <= event_time <= time.time() + 1
    assert event_time > rig.TS + 60  # the conversion happened an hour earlier


@pytest.mark.parametrize("click_id", ["{fbclid}", "undefined", "%7Bfbclid%7D"])
def test_forwards_placeholders_as_fbc(forwarder: Any, platforms: Any, click_id: str) -> None:
    assert forwarder.send(click_id=click_id).status_code == 200
    assert sent_event(platforms)["user_data"]["fbc"] == click_id


def test_forwards_nothing_for_an_empty_click_id(forwarder: Any, platforms: Any) -> None:
    response = forwarder.send(click_id="")
    assert response.status_code == 200
    assert platforms.requests() == []


def test_forwards_a_conversion_older_than_7_days(forwarder: Any, platforms: Any) -> None:
    forwarder.send(ts=str(int(time.time()) - 8 * 86400))
    assert len(platforms.requests("meta")) == 1


@pytest.mark.parametrize("source", ["google", "tiktok", "google-dm", "newsletter"])
def test_ignores_source_and_sends_everything_to_meta(forwarder: Any, platforms: Any,
                                                     source: str) -> None:
    forwarder.send(source=source, click_id="some-click-id")
    assert [r.platform for r in platforms.requests()] == ["meta"]


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_answers_the_postback_500_without_retrying_when_meta_fails(
    forwarder: Any, platforms: Any, status: int
) -> None:
    platforms.script("meta", (status, {"error": {"code": 100}}, {"Retry-After": "0"}))
    response = forwarder.send()
    assert response.status_code == 500
    assert len(platforms.requests("meta")) == 1


def test_answers_500_when_meta_is_unreachable(rig: Any, platforms: Any, tmp_path: Path) -> None:
    env = {"META_BASE_URL": "http://127.0.0.1:9/meta"}  # discard port: connection refused
    with rig.running(SCRIPT, platforms, tmp_path / "stderr.log", env) as receiver:
        assert receiver.send().status_code == 500


def test_health(forwarder: Any) -> None:
    response = forwarder.session.get(f"{forwarder.url}/health", timeout=5)
    assert (response.status_code, response.text) == (200, "ok")
