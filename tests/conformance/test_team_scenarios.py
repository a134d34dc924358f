"""A team's own scenario files beside the built-in catalogue (`--scenarios-dir`): loaded and
validated like the built-in ones, and an id found twice is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from conformance.cli import main
from conformance.paths import SCENARIOS
from conformance.receiver_process import profile_for
from conformance.scenario import ScenarioError, load_catalogue
from simulator.server import BackgroundServer


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def team_scenario(folder: Path, scenario_id: str, base: str = "meta-happy-path",
                  **changes: object) -> Path:
    """A team's scenario file: a built-in one under a new id, with `changes` applied."""
    folder.mkdir(exist_ok=True)
    data = yaml.safe_load((SCENARIOS / f"{base}.yaml").read_text(encoding="utf-8"))
    data.update(id=scenario_id, title=f"Team: {data['title']}", **changes)
    path = folder / f"{scenario_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_teams_folder_adds_its_scenarios_to_the_built_in_catalogue(tmp_path: Path) -> None:
    team_scenario(tmp_path / "team", "team-meta-checkout")
    catalogue = load_catalogue(extra=[tmp_path / "team"])
    ids = [s.id for s in catalogue]
    assert ids == sorted(ids)
    assert set(ids) == {s.id for s in load_catalogue()} | {"team-meta-checkout"}


def test_an_id_in_two_folders_is_one_error_naming_both_files(tmp_path: Path) -> None:
    team_scenario(tmp_path / "a", "team-x")
    team_scenario(tmp_path / "b", "team-x")
    with pytest.raises(ScenarioError, match=r"b/team-x.yaml: id 'team-x' is already the "
                                            r"scenario in .*a/team-x.yaml"):
        load_catalogue(extra=[tmp_path / "a", tmp_path / "b"])


def test_scenarios_lists_a_teams_scenarios_and_a_clash_with_a_built_in_id_exits_2(
    tmp_path: Path,
) -> None:
    team_scenario(tmp_path / "team", "team-meta-checkout")
    listed = invoke("scenarios", "--scenarios-dir", str(tmp_path / "team"))
    assert listed.exit_code == 0, listed.output
    assert "team-meta-checkout" in listed.stdout
    assert "meta-happy-path" in listed.stdout

    team_scenario(tmp_path / "clash", "meta-happy-path")
    clash = invoke("scenarios", "--scenarios-dir", str(tmp_path / "clash"))
    assert clash.exit_code == 2
    assert clash.stderr.count("\n") == 1
    assert "meta-happy-path.yaml: id 'meta-happy-path' is already the scenario in" in clash.stderr


def test_a_teams_scenario_is_validated_like_a_built_in_one(tmp_path: Path) -> None:
    team_scenario(tmp_path / "team", "team-typo", tags=["meta"], timeuot_s=5)
    result = invoke("scenarios", "--scenarios-dir", str(tmp_path / "team"))
    assert result.exit_code == 2
    assert result.stderr.strip() == "postback-sim: error: team-typo.yaml: timeuot_s: unknown key"


def test_a_missing_scenarios_folder_exits_2_naming_it(tmp_path: Path) -> None:
    result = invoke("scenarios", "--scenarios-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert f"scenarios folder {tmp_path / 'nowhere'}: no such folder" in result.stderr


def test_run_plays_a_teams_scenario_against_the_receiver(
    tmp_path: Path, live_server: BackgroundServer, reference_profile: Path
) -> None:
    team_scenario(tmp_path / "team", "team-meta-checkout")
    result = invoke("run", "--profile", str(reference_profile), "--sim-url", live_server.url,
                    "--scenarios-dir", str(tmp_path / "team"), "--scenario", "team-meta-checkout")
    assert result.exit_code == 0, result.output
    assert "[1/1] PASS  team-meta-checkout" in result.stdout


def test_run_with_a_clashing_id_exits_2_before_touching_the_receiver(tmp_path: Path) -> None:
    team_scenario(tmp_path / "team", "missing-fbclid")
    profile = tmp_path / "receiver.yaml"
    profile.write_text(yaml.safe_dump(profile_for("http://127.0.0.1:9").to_dict()),
                       encoding="utf-8")
    result = invoke("run", "--profile", str(profile), "--scenarios-dir", str(tmp_path / "team"))
    assert result.exit_code == 2
    assert result.stderr.startswith("postback-sim: error: ")
    assert "id 'missing-fbclid' is already the scenario in" in result.stderr
    assert result.stderr.count("\n") == 1
