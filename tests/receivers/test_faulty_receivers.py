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
FAULTY = sorted(p.stem for p in FAULTY_DIR.glob("*.py"))


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


LATE = str(int(time.time()) - 8 * 86400)
HEX64 = re.compile(r"[0-9a-f]{64}")


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
    }


@pytest.fixture
def bugs(rig: Any) -> dict[str, BugCase]:
    return bug_cases(rig.TS, rig.FBCLID, rig.GCLID)


def provoke(receiver: Any, capture: Any, case: BugCase) -> list[Any]:
    capture.script(case.platform, *case.script)
    for overrides in case.postbacks:
        assert receiver.send(**overrides).status_code == 200
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
