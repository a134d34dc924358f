"""`postback-sim init`: a commented starter profile that loads as written, never interactive,
never overwriting a file unasked."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conformance.cli import main
from conformance.profile import PLATFORMS, load_profile


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`init` writes into the working directory; tests run in their own empty one."""
    monkeypatch.chdir(tmp_path)


def invoke(*args: str, cwd: Path) -> Result:
    result = CliRunner().invoke(main, list(args), input="")
    result.files = {p.name: p.read_text(encoding="utf-8") for p in cwd.iterdir()}
    return result


@pytest.mark.parametrize(
    ("flags", "platforms"),
    [((), PLATFORMS), (("--platform", "meta"), ("meta",)),
     (("--platform", "datamanager", "--platform", "tiktok"), ("tiktok", "datamanager"))],
    ids=["all-four", "meta-only", "two"],
)
def test_init_writes_a_commented_profile_that_loads_with_the_chosen_platforms(
    tmp_path: Path, flags: tuple[str, ...], platforms: tuple[str, ...]
) -> None:
    result = invoke("init", *flags, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    text = result.files["receiver.yaml"]
    assert text.count("\n# ") >= 10  # every key is explained
    path = tmp_path / "receiver.yaml"
    path.write_text(text, encoding="utf-8")
    profile = load_profile(path)
    assert tuple(profile.platforms) == platforms
    assert (profile.click_id_sub, profile.source_sub) == ("sub1", "sub2")


def test_init_takes_the_postback_url_and_the_output_path(tmp_path: Path) -> None:
    url = "https://receiver.example.com/pb?gclid={sub1}&src={sub2}&amount={payout_amount}"
    result = invoke("init", "--postback-url", url, "--out", "ci.yaml", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    path = tmp_path / "ci.yaml"
    path.write_text(result.files["ci.yaml"], encoding="utf-8")
    assert load_profile(path).postback_url == url


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "receiver.yaml"
    target.write_text("mine\n", encoding="utf-8")
    refused = runner.invoke(main, ["init"])
    assert refused.exit_code == 2
    assert refused.stderr == ("postback-sim: error: receiver.yaml already exists "
                              "(--force overwrites it)\n")
    assert target.read_text(encoding="utf-8") == "mine\n"
    forced = runner.invoke(main, ["init", "--force"])
    assert forced.exit_code == 0, forced.output
    assert target.read_text(encoding="utf-8").startswith("# postback-sim")


def test_init_rejects_a_postback_url_the_profile_would_reject(tmp_path: Path) -> None:
    result = invoke("init", "--postback-url", "receiver.local/pb", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("postback-sim: error: --postback-url: postback_url: ")
    assert "receiver.yaml" not in result.files


def test_the_platform_choices_are_the_profiles_platforms() -> None:
    init = main.commands["init"]
    choice = next(p for p in init.params if p.name == "platforms").type
    assert tuple(choice.choices) == PLATFORMS


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"postback-sim, version {version('postback-sim')}\n"
