"""The scenario catalogue and its loader: every file valid, ids stable, mistakes named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.paths import SCENARIOS
from conformance.scenario import ScenarioError, load_catalogue, load_scenario, select

FILES = sorted(SCENARIOS.glob("*.yaml"))
REQUIRED_IDS = {
    "missing-fbclid", "case-mangled-gclid", "duplicate-event-id", "meta-happy-path",
    "tiktok-happy-path", "google-ads-happy-path", "datamanager-happy-path",
}


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def valid(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "sample", "title": "Sample", "description": "Why it matters. https://example.com/doc",
        "tags": ["meta"], "platforms": ["meta"],
        "steps": [
            {"ad_click": {"as": "ad", "platform": "meta"}},
            {"click": {"as": "visit", "ad_click": "ad"}},
            {"conversion": {"as": "sale", "click": "visit"}},
        ],
        "expect": {"events": [{"conversion": "sale", "platform": "meta", "count": "exactly_one"}]},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_scenario_file_validates_and_its_id_is_its_file_name(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.id == path.stem
    assert "https://" in scenario.description
    assert scenario.doc_url.startswith("https://")


def test_catalogue_holds_at_least_25_scenarios_including_the_requested_ones() -> None:
    ids = {s.id for s in load_catalogue()}
    assert len(ids) >= 25
    assert ids >= REQUIRED_IDS


def test_rule_ids_named_by_scenarios_exist_in_the_registry() -> None:
    from conformance.rules import get_rule

    for scenario in load_catalogue():
        named = list(scenario.expect.get("rules") or [])
        named += [f["rule"] for f in scenario.expect.get("findings") or [] if "rule" in f]
        for rule_id in named:
            assert get_rule(rule_id).id == rule_id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (valid(owner="qa"), "sample.yaml: owner: unknown key"),
        (valid(steps=[{"ad_click": {"as": "ad", "platform": "meta", "colour": "x"}}]),
         "sample.yaml: steps[0].ad_click.colour: unknown key"),
        (valid(steps=[{"teleport": {}}]), "sample.yaml: steps[0].teleport: unknown key"),
        (valid(expect={"events": [{"conversion": "sale", "platform": "meta", "cuont": 1}]}),
         "sample.yaml: expect.events[0].cuont: unknown key"),
        (valid(title=None) | {"title": None}, "sample.yaml: title: None is not of type 'string'"),
        (valid(platforms=["myspace"]),
         "sample.yaml: platforms[0]: must be one of meta, tiktok, google_ads, datamanager, "
         "got 'myspace'"),
        (valid(id="other"), "sample.yaml: id: 'other' must equal the file name 'sample'"),
        (valid(steps=[{"conversion": {"as": "sale", "click": "ghost"}}]),
         "sample.yaml: steps[0].conversion.click: no earlier click step named 'ghost'"),
        (valid(expect={"events": [{"conversion": "refund", "platform": "meta"}]}),
         "sample.yaml: expect.events[0].conversion: no conversion or event named 'refund'"),
    ],
    ids=["unknown-top-level-key", "unknown-step-field", "unknown-step-kind",
         "unknown-expectation-key", "wrong-type", "unknown-platform", "id-not-file-name",
         "dangling-reference", "unknown-expected-conversion"],
)
def test_scenario_mistakes_name_the_file_and_key_path(
    tmp_path: Path, data: dict, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, "sample", data))
    assert str(caught.value) == message


def test_repeat_flattens_with_a_suffix_per_round(tmp_path: Path) -> None:
    data = valid(steps=[{"repeat": {"times": 3, "steps": valid()["steps"]}}],
                 expect={"events": [{"conversion": "*", "platform": "meta"}]})
    scenario = load_scenario(write(tmp_path, "sample", data))
    assert scenario.names("conversion") == ["sale#1", "sale#2", "sale#3"]
    clicks = [s.args for s in scenario.steps if s.kind == "click"]
    assert [c["ad_click"] for c in clicks] == ["ad#1", "ad#2", "ad#3"]


def test_fault_steps_mark_the_scenario_as_running_alone(tmp_path: Path) -> None:
    steps = [{"fault": {"platform": "meta", "kind": "status", "status": 500}}, *valid()["steps"]]
    scenario = load_scenario(write(tmp_path, "sample", valid(steps=steps)))
    assert scenario.fault_platforms == {"meta"}


def test_select_by_id_and_tag_and_refuse_unknown_ids() -> None:
    catalogue = load_catalogue()
    assert [s.id for s in select(catalogue, ids=["missing-fbclid"])] == ["missing-fbclid"]
    assert {s.id for s in select(catalogue, tags=["happy-path"])} >= {"meta-happy-path"}
    assert select(catalogue) == catalogue
    with pytest.raises(ScenarioError, match="unknown scenario id"):
        select(catalogue, ids=["no-such-scenario"])


def test_networks_names_known_personas_only(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "sample", valid(networks=["impact"])))
    assert scenario.networks == ["impact"]
    with pytest.raises(ScenarioError, match="networks: unknown network 'voluum'"):
        load_scenario(write(tmp_path, "sample", valid(networks=["voluum"])))


def test_a_scenario_about_other_networks_is_skipped_with_the_reason() -> None:
    from conformance.receiver_process import profile_for
    from conformance.scenario_runner import ScenarioRunner

    scenario = next(s for s in load_catalogue() if s.id == "reversed-google-retraction")
    runner = ScenarioRunner.__new__(ScenarioRunner)
    runner.profile = profile_for("http://127.0.0.1:9", network="tune")
    assert "the run plays tune" in (runner.skip_reason(scenario) or "")
    runner.profile = profile_for("http://127.0.0.1:9", network="impact")
    assert runner.skip_reason(scenario) is None
