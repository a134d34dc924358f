"""Each faulty receiver shows exactly its bug, and the reference receiver shows none of them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FAULTY_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "receivers" / "faulty"
# Twins of SDK receivers speak gRPC, not HTTP to a capture server: tests/receivers/
# test_google_ads_sdk_receiver.py shows their bug against the gRPC mock.
OVER_GRPC = {"google_ads_sdk_no_order_id"}
# Bugs that only concurrency shows: tests/load proves the load verdict catches them.
UNDER_LOAD = {"racy_dedup_cache"}
FAULTY = sorted(p.stem for p in FAULTY_DIR.glob("*.py") if p.stem not in OVER_GRPC | UNDER_LOAD)


def meta_event(sent: list[Any]) -> dict[str, Any]:
    return sent[0].body["data"][0]


def google_conversion(sent: list[Any]) -> dict[str, Any]:
    return sent[0].body["conversions"][0]


@dataclass(frozen=True)
class BugCase:
    """How to provoke one bug and how to see it in what reached the platform."""

    postbacks: tuple[dict[str, str], ...]
    shows_bug: Callable[[list[Any]], bool]
    platform: str = "meta"
    script: tuple[tuple[Any, ...], ...] = ()  # replies as CaptureServer.script takes them
    # A receiver that forwards after answering: wait (bounded) for this many requests, then
    # `quiet_s` more, so a retry that would come has come.
    wait_for: int = 0
    quiet_s: float = 0.0
    # The bug is in the postback's answer: shows_bug reads the answer bodies instead.
    in_answer: bool = False


LATE = str(int(time.time()) - 8 * 86400)
HEX64 = re.compile(r"[0-9a-f]{64}")
# Yesterday at 15:30:00 UTC: a 12-hour clock writes it as 03:30:00.
AFTERNOON = str((int(time.time()) // 86400 - 1) * 86400 + 15 * 3600 + 30 * 60)
LONG_GCLID = "Cj0KCQ" + "aBcD" * 23 + "xy"  # 100 characters
TIKTOK_RATE_LIMITED = {"code": 40100, "message": "Too many requests.", "data": {}}


def bug_cases(ts: int, fbclid: str, gclid: str) -> dict[str, BugCase]:
    """The bug cases for postbacks sent at `ts` with these click ids."""
    return {
        "hashed_fbc": BugCase(
            ({},), lambda s: HEX64.fullmatch(meta_event(s)["user_data"]["fbc"]) is not None),
        "fbc_seconds": BugCase(
            ({},), lambda s: meta_event(s)["user_data"]["fbc"] == f"fb.1.{ts}.{fbclid}"),
        "fabricated_fbc": BugCase(({"click_id": ""},), lambda s: len(s) > 0),
        "lowercased_gclid": BugCase(
            ({"source": "google"},), lambda s: google_conversion(s)["gclid"] == gclid.lower(),
            platform="google-ads"),
        "fresh_event_id": BugCase(
            ({}, {}),
            lambda s: s[0].body["data"][0]["event_id"] != s[1].body["data"][0]["event_id"]),
        "event_id_from_click": BugCase(({},), lambda s: meta_event(s)["event_id"] == fbclid),
        "google_no_offset": BugCase(
            ({"source": "google"},),
            lambda s: re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
                                   google_conversion(s)["conversionDateTime"]) is not None,
            platform="google-ads"),
        "partial_failure_false": BugCase(
            ({"source": "google"},), lambda s: s[0].body["partialFailure"] is False,
            platform="google-ads"),
        "value_in_cents": BugCase(({},), lambda s: meta_event(s)["custom_data"]["value"] == 1250),
        "hardcoded_currency": BugCase(
            ({"currency": "EUR"},), lambda s: meta_event(s)["custom_data"]["currency"] == "USD"),
        "no_retry": BugCase(({},), lambda s: len(s) == 1, script=((500, {}),)),
        "event_time_ms": BugCase(({},), lambda s: meta_event(s)["event_time"] == ts * 1000),
        "forwards_late_meta": BugCase(({"ts": LATE},), lambda s: len(s) > 0),
        "fbclid_lowercased": BugCase(
            ({},), lambda s: meta_event(s)["user_data"]["fbc"].endswith(f".{fbclid.lower()}")),
        "retry_forever_on_400": BugCase(
            ({},), lambda s: len(s) > 1, script=((400, {"error": {"code": 100}}),)),
        "event_time_now": BugCase(({},), lambda s: meta_event(s)["event_time"] > ts + 60),
        # an Events 1.0 body at the 2.0 URL, and a 40100 in an HTTP 200 taken as done
        "tiktok_events1_on_v2": BugCase(
            ({"source": "tiktok"},),
            lambda s: (len(s) == 1 and s[0].path.endswith("/open_api/v1.3/event/track/")
                       and "pixel_code" in s[0].body and "data" not in s[0].body
                       and bool(s[0].body.get("context", {}).get("ad", {}).get("callback"))),
            platform="tiktok", script=((200, TIKTOK_RATE_LIMITED),)),
        "google_12h_clock": BugCase(
            ({"source": "google", "ts": AFTERNOON},),
            lambda s: google_conversion(s)["conversionDateTime"].endswith(" 03:30:00+00:00"),
            platform="google-ads"),
        "ignores_retry_after": BugCase(
            ({"source": "google"},),
            lambda s: len(s) == 2 and s[1].received_at - s[0].received_at < 0.8,
            platform="google-ads", script=((429, {}, {"Retry-After": "1"}),)),
        "wrong_pixel": BugCase(({},), lambda s: s[0].path == "/meta/v21.0/9876543210/events"),
        # two postbacks, one batch refused with a 500 and never sent again
        "meta_batch_no_retry": BugCase(
            ({}, {}), lambda s: len(s) == 1 and len(s[0].body["data"]) == 2,
            script=((500, {}),), wait_for=1, quiet_s=1.5),
        "datamanager_drops_long_gclid": BugCase(
            ({"source": "google-dm", "click_id": LONG_GCLID},), lambda s: len(s) == 0,
            platform="datamanager"),
        # a postback without click ID answered 400 (Everflow counts each as a failure)
        "rejects_organic": BugCase(({"click_id": ""},), lambda answers: answers[0] == 400,
                                   in_answer=True),
        # a user agent decoded a second time: '+' becomes a space
        "double_decoded": BugCase(
            ({"ua": "Mozilla/5.0 [FBAN/FBIOS;FBLC/en_GB+fr_FR]"},),
            lambda s: meta_event(s)["user_data"]["client_user_agent"].endswith("en_GB fr_FR]")),
        # Impact's APPROVED compared with "approved": never forwarded
        "status_case_sensitive": BugCase(({"status": "APPROVED"},), lambda s: len(s) == 0),
        # TUNE reads the answer body: anything but success=true; is a failed postback
        "plain_text_answer": BugCase(
            ({},), lambda answers: not answers[0].startswith("success=true;"), in_answer=True),
        # CAKE's spill-over: the click ID in two click_id pieces, only the first one kept
        "first_click_id_piece": BugCase(
            ({"click_id": [fbclid[:30], fbclid[30:]]},),
            lambda s: meta_event(s)["user_data"]["fbc"].endswith(f".{fbclid[:30]}")),
        # a reversal (Impact's {Status}) uploaded as a new sale
        "reversal_as_sale": BugCase(({"status": "REVERSED"},), lambda s: len(s) > 0),
    }


@pytest.fixture
def bugs(rig: Any) -> dict[str, BugCase]:
    return bug_cases(rig.TS, rig.FBCLID, rig.GCLID)


def provoke(receiver: Any, capture: Any, case: BugCase) -> list[Any]:
    capture.script(case.platform, *case.script)
    answers = []
    for overrides in case.postbacks:
        answer = receiver.send(**overrides)
        if case.in_answer:
            answers.append(answer.status_code if answer.status_code != 200 else answer.text)
            continue
        assert answer.status_code == 200
    if case.in_answer:
        return answers
    deadline = time.monotonic() + 10
    while len(capture.requests(case.platform)) < case.wait_for and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(case.quiet_s)
    return capture.requests(case.platform)


def test_every_faulty_receiver_has_a_bug_case(bugs: dict[str, BugCase]) -> None:
    assert sorted(bugs) == FAULTY
    assert len(FAULTY) >= 10


@pytest.mark.parametrize("name", FAULTY)
def test_faulty_receiver_shows_its_bug(
    rig: Any, bugs: dict[str, BugCase], name: str, platforms: Any, tmp_path: Path
) -> None:
    script = FAULTY_DIR / f"{name}.py"
    with rig.running(script, platforms, tmp_path / "stderr.log") as receiver:
        assert bugs[name].shows_bug(provoke(receiver, platforms, bugs[name]))


@pytest.mark.parametrize("name", FAULTY)
def test_reference_receiver_does_not_show_the_bug(
    bugs: dict[str, BugCase], name: str, reference: Any, platforms: Any
) -> None:
    assert not bugs[name].shows_bug(provoke(reference, platforms, bugs[name]))
