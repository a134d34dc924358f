"""The GitHub Actions composite action (`action.yml`): its steps, run here by bash as a runner
would run them, install this folder and call exactly the `postback-sim run` the tests pass."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from conformance.cli import main
from conformance.paths import SCENARIOS
from simulator.server import BackgroundServer

REPO = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def step(name: str) -> dict[str, Any]:
    return next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)


def recorder_source(log: Path, body: str = "") -> str:
    """A program that appends its argv (as JSON) to `log`, then runs `body`."""
    return (f"#!{sys.executable}\nimport json, sys\n"
            f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n{body}")


def recorder(path: Path, log: Path, body: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(recorder_source(log, body), encoding="utf-8")
    path.chmod(0o755)
    return path


def run_step(name: str, context: dict[str, str], env: dict[str, str]) -> None:
    """Run a `run:` step with bash, its `${{ }}` expressions taken from `context`."""
    spec = step(name)
    assert spec["shell"] == "bash"
    step_env = {k: EXPRESSION.sub(lambda m: context[m.group(1)], str(v))
                for k, v in spec.get("env", {}).items()}
    subprocess.run(["bash", "-e", "-c", spec["run"]], env={**os.environ, **env, **step_env},
                   check=True, timeout=30)


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_the_action_takes_profile_scenarios_junit_and_html() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"profile", "scenarios", "junit", "html"}
    assert [k for k, v in ACTION["inputs"].items() if v.get("required")] == ["profile"]


def test_the_install_step_installs_the_actions_own_folder_into_a_venv_of_its_own(
    tmp_path: Path,
) -> None:
    log = tmp_path / "calls.log"
    # `python -m venv DIR` makes DIR/bin/python and DIR/bin/postback-sim recorders too
    make_venv = ("from pathlib import Path\nbin = Path(sys.argv[3]) / 'bin'\n"
                 "bin.mkdir(parents=True)\n"
                 "for name in ('python', 'postback-sim'):\n"
                 f"    (bin / name).write_text({recorder_source(log)!r})\n"
                 "    (bin / name).chmod(0o755)\n")
    python = recorder(tmp_path / "setup-python" / "python", log, make_venv)
    runner_temp, github_path = tmp_path / "runner", tmp_path / "github_path"
    runner_temp.mkdir()
    run_step("Install postback-sim", {"steps.python.outputs.python-path": str(python)},
             {"RUNNER_TEMP": str(runner_temp), "GITHUB_PATH": str(github_path),
              "GITHUB_ACTION_PATH": str(REPO)})
    venv = runner_temp / "postback-sim-venv"
    assert calls(log) == [["-m", "venv", str(venv)],
                          ["-m", "pip", "install", "--quiet", str(REPO)]]
    on_path = Path(github_path.read_text(encoding="utf-8").strip())
    assert (on_path / "postback-sim").resolve() == venv / "bin" / "postback-sim"
    assert sorted(p.name for p in on_path.iterdir()) == ["postback-sim"]  # not the venv's python


def action_argv(tmp_path: Path, inputs: dict[str, str]) -> list[str]:
    """What the action's run step calls `postback-sim` with, for these inputs."""
    log = tmp_path / "postback-sim.log"
    shims = recorder(tmp_path / "shims" / "postback-sim", log).parent
    context = {f"inputs.{k}": inputs.get(k, v.get("default", "")) for k, v in
               ACTION["inputs"].items()}
    run_step("Run the scenarios", context, {"PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"})
    (argv,) = calls(log)
    return argv


def test_the_run_step_passes_only_the_inputs_given(tmp_path: Path) -> None:
    assert action_argv(tmp_path, {"profile": "receiver.yaml"}) == [
        "run", "--profile", "receiver.yaml"]


def test_the_run_step_is_a_cli_run_that_passes_and_writes_both_reports(
    tmp_path: Path, live_server: BackgroundServer, reference_profile: Path
) -> None:
    profile = reference_profile
    for folder in ("team-a", "team-b"):
        (tmp_path / folder).mkdir()
    (tmp_path / "team-a" / "team-meta.yaml").write_text(
        (SCENARIOS / "meta-happy-path.yaml").read_text(encoding="utf-8")
        .replace("id: meta-happy-path", "id: team-meta"), encoding="utf-8")
    inputs = {"profile": str(profile), "scenarios": f"{tmp_path / 'team-a'} {tmp_path / 'team-b'}",
              "junit": str(tmp_path / "out.xml"), "html": str(tmp_path / "out.html")}
    argv = action_argv(tmp_path, inputs)
    assert argv == ["run", "--profile", inputs["profile"],
                    "--scenarios-dir", str(tmp_path / "team-a"),
                    "--scenarios-dir", str(tmp_path / "team-b"),
                    "--junit", inputs["junit"], "--html", inputs["html"]]
    # The same command, against this test's simulator instead of one on port 8000, and one
    # scenario of the team's and one built-in to keep it short.
    result = CliRunner().invoke(main, [*argv, "--sim-url", live_server.url,
                                       "--scenario", "team-meta", "--scenario", "missing-fbclid"])
    assert result.exit_code == 0, result.output
    assert "PASS  team-meta" in result.stdout
    assert "team-meta" in (tmp_path / "out.xml").read_text(encoding="utf-8")
    assert "team-meta" in (tmp_path / "out.html").read_text(encoding="utf-8")
