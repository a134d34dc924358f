"""Receiver subprocesses: started on a free port, their URL read from `listening on`, stopped."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import requests

from conformance.paths import receiver_path
from conformance.receiver_process import (
    ReceiverProcess,
    ReceiverStartError,
    command_for,
    profile_for,
    receiver_env,
)


def test_reference_receiver_starts_on_a_free_port_and_stops() -> None:
    process = ReceiverProcess(receiver_path("reference"), receiver_env("http://127.0.0.1:1"))
    with process:
        assert process.url is not None
        assert requests.get(f"{process.url}/health", timeout=5).text == "ok"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{process.url}/health", timeout=5)


def test_a_receiver_that_dies_at_start_is_one_line_with_its_output(tmp_path: Path) -> None:
    program = tmp_path / "broken.py"
    program.write_text("print('missing META_PIXEL_ID')\nraise SystemExit(3)\n", encoding="utf-8")
    with pytest.raises(ReceiverStartError) as caught:
        ReceiverProcess(program, {}, start_timeout=10).start()
    assert "broken.py did not report `listening on`" in str(caught.value)
    assert "missing META_PIXEL_ID" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_receiver_env_points_every_platform_at_the_simulator() -> None:
    env = receiver_env("http://127.0.0.1:8123")
    assert env["META_BASE_URL"] == "http://127.0.0.1:8123/meta"
    assert env["GOOGLE_ADS_BASE_URL"] == "http://127.0.0.1:8123/google-ads"
    assert env["RECEIVER_PORT"] == "0"
    assert env["DATAMANAGER_DESTINATION_ID"] == "987654321"


def test_profile_for_a_bundled_receiver_matches_its_query_names() -> None:
    profile = profile_for("http://127.0.0.1:9100")
    assert profile.postback_url.startswith("http://127.0.0.1:9100/postback?click_id={sub1}")
    assert (profile.click_id_sub, profile.source_sub) == ("sub1", "sub2")
    assert set(profile.platforms) == {"meta", "tiktok", "google_ads", "datamanager"}


@pytest.mark.parametrize(("program", "launcher"), [
    ("r.py", [sys.executable, "-u"]), ("r.js", ["node"]), ("Receiver.java", ["java"]),
], ids=["python", "node", "java"])
def test_each_kind_of_receiver_program_is_started_by_its_launcher(
    program: str, launcher: list[str]
) -> None:
    assert command_for(Path(program)) == [*launcher, program]


def test_a_bundled_receiver_is_found_by_name_whatever_its_language() -> None:
    assert receiver_path("polyglot/tiktok_forwarder").suffix == ".java"
    assert receiver_path("polyglot/google_ads_forwarder").suffix == ".js"
    assert receiver_path("faulty/no_retry").suffix == ".py"


@pytest.mark.skipif(shutil.which("java") is None, reason="no java on PATH (JDK 11+)")
def test_a_one_file_java_receiver_starts_and_answers_health() -> None:
    program = receiver_path("polyglot/tiktok_forwarder")
    with ReceiverProcess(program, receiver_env("http://127.0.0.1:1"), start_timeout=60) as process:
        assert requests.get(f"{process.url}/health", timeout=5).text == "ok"
