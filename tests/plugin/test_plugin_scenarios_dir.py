"""`pytest --scenarios-dir DIR` (or `--postback-scenarios-dir`): a team's scenario files
collected beside the built-in catalogue, and a clash of ids stopping the session with one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.paths import SCENARIOS
from conformance.receiver_process import profile_for
from conformance.scenario import load_catalogue

pytest_plugins = ["pytester"]
PLUGIN = ("-p", "conformance.pytest_plugin")


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    profile = profile_for("http://127.0.0.1:9")
    (pytester.path / "receiver.yaml").write_text(yaml.safe_dump(profile.to_dict()),
                                                 encoding="utf-8")
    return pytester


def write_scenario(folder: Path, scenario_id: str) -> None:
    folder.mkdir(exist_ok=True)
    data = yaml.safe_load((SCENARIOS / "meta-happy-path.yaml").read_text(encoding="utf-8"))
    (folder / f"{scenario_id}.yaml").write_text(yaml.safe_dump({**data, "id": scenario_id}),
                                                encoding="utf-8")


def test_a_teams_scenarios_are_collected_beside_the_catalogue(inner: pytest.Pytester) -> None:
    write_scenario(inner.path / "team", "team-checkout")
    result = inner.runpytest_subprocess(*PLUGIN, "--postback-profile", "receiver.yaml",
                                        "--scenarios-dir", "team", "--collect-only", "-q")
    collected = {line.split("::")[-1] for line in result.outlines if "::" in line}
    assert collected == {s.id for s in load_catalogue()} | {"team-checkout", "unclaimed-requests"}


def test_a_clash_of_ids_is_one_usage_error(inner: pytest.Pytester) -> None:
    write_scenario(inner.path / "team", "meta-happy-path")
    result = inner.runpytest_subprocess(*PLUGIN, "--postback-profile", "receiver.yaml",
                                        "--postback-scenarios-dir", "team", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: postback-sim: *meta-happy-path.yaml: id "
                                 "'meta-happy-path' is already the scenario in *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
