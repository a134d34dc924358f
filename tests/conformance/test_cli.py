"""The `postback-sim` command as a user meets it: exit codes 0 / 1 / 2, one-line harness errors,
reports written, the catalogue and the rules listed."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from conformance import runner
from conformance.cli import main
from conformance.paths import receiver_path
from conformance.receiver_process import ReceiverProcess, profile_for, receiver_env
from conformance.scenario import load_catalogue
from simulator.server import BackgroundServer


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def write_profile(tmp_path: Path, receiver_url: str, name: str = "receiver.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(profile_for(receiver_url, settle_seconds=0.3).to_dict()),
                    encoding="utf-8")
    return path


@pytest.fixture
def started(live_server: BackgroundServer) -> Iterator[Callable[[str], str]]:
    """Start a bundled receiver (reference or faulty/...) pointed at the live simulator."""
    processes: list[ReceiverProcess] = []

    def start(name: str) -> str:
        process = ReceiverProcess(receiver_path(name), receiver_env(live_server.url))
        processes.append(process)
        return process.start()

    yield start
    for process in processes:
        process.stop()


def test_a_conforming_receiver_exits_0_and_every_report_is_written(
    tmp_path: Path, live_server: BackgroundServer, started
) -> None:
    profile = write_profile(tmp_path, started("reference"))
    out = {kind: tmp_path / f"out.{kind}" for kind in ("json", "xml", "html")}
    result = invoke("run", "--profile", str(profile), "--scenario", "missing-fbclid",
                    "--sim-url", live_server.url, "--json", str(out["json"]),
                    "--junit", str(out["xml"]), "--html", str(out["html"]))
    assert result.exit_code == 0, result.output
    assert "[1/1] PASS  missing-fbclid" in result.stdout
    report = json.loads(out["json"].read_text(encoding="utf-8"))
    assert report["summary"] == {"passed": 1, "failed": 0, "errors": 0, "skipped": 0}
    assert [c.get("name") for c in ET.parse(out["xml"]).getroot().iter("testcase")] == [
        "missing-fbclid"]
    assert "missing-fbclid" in out["html"].read_text(encoding="utf-8")


def test_a_faulty_receiver_exits_1_naming_rule_place_expectation_and_doc(
    tmp_path: Path, live_server: BackgroundServer, started
) -> None:
    profile = write_profile(tmp_path, started("faulty/hashed_fbc"))
    result = invoke("run", "--profile", str(profile), "--scenario", "meta-happy-path",
                    "--sim-url", live_server.url)
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if "[META-002]" in x)
    assert "(must, meta) data[0].user_data.fbc: expected the value in clear" in line
    assert "got '" in line
    after = result.stdout.split(line, 1)[1].splitlines()[1]
    assert after.strip().startswith("https://developers.facebook.com/")


def test_an_unreachable_receiver_exits_2_with_one_line(
    tmp_path: Path, live_server: BackgroundServer
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    profile = write_profile(tmp_path, f"http://127.0.0.1:{port}")
    result = invoke("run", "--profile", str(profile), "--sim-url", live_server.url)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"postback-sim: error: receiver unreachable at 127.0.0.1:{port} "
        "(from receiver.yaml postback_url): Connection refused"]


def test_a_bad_profile_exits_2_with_the_file_and_key_path(tmp_path: Path) -> None:
    data = profile_for("http://127.0.0.1:9000").to_dict()
    del data["platforms"]["meta"]["pixel_id"]
    (tmp_path / "receiver.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = invoke("run", "--profile", str(tmp_path / "receiver.yaml"))
    assert result.exit_code == 2
    assert result.stderr == (
        "postback-sim: error: receiver.yaml: platforms.meta.pixel_id: required\n")
    assert "Traceback" not in result.output


def test_an_unknown_key_in_a_scenario_file_exits_2_with_file_and_key_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = yaml.safe_load(Path(load_catalogue()[0].path).read_text(encoding="utf-8"))
    scenario["steps"][0] = {**scenario["steps"][0]}
    kind = next(iter(scenario["steps"][0]))
    scenario["steps"][0][kind] = {**scenario["steps"][0][kind], "colour": "red"}
    (tmp_path / f"{scenario['id']}.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    monkeypatch.setattr(runner, "load_catalogue", lambda **_: load_catalogue(tmp_path))
    profile = write_profile(tmp_path, "http://127.0.0.1:9000")
    result = invoke("run", "--profile", str(profile))
    assert result.exit_code == 2
    assert result.stderr == (f"postback-sim: error: {scenario['id']}.yaml: "
                             f"steps[0].{kind}.colour: unknown key\n")


def test_an_unknown_scenario_id_exits_2(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, "http://127.0.0.1:9000")
    result = invoke("run", "--profile", str(profile), "--scenario", "no-such-scenario")
    assert result.exit_code == 2
    assert "no-such-scenario" in result.stderr


def test_scenarios_lists_the_whole_catalogue_with_platforms_and_titles() -> None:
    result = invoke("scenarios")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(load_catalogue())
    assert any(x.startswith("missing-fbclid ") and "[meta]" in x for x in lines)


def test_rules_lists_each_rule_with_severity_platform_and_doc_url() -> None:
    result = invoke("rules", "--platform", "google_ads")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["GADS-001", "must", "google_ads"]
    assert lines[1].strip().startswith("https://developers.google.com/")
