"""The pytest plugin as its users meet it, run the way pytest tests plugins: `pytester` starts a
pytest (in a subprocess, as a user's run would be) with only this plugin loaded (`-p`), whether
or not the package's `pytest11` entry point is installed."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from conformance.paths import receiver_path
from conformance.receiver_process import ReceiverProcess, profile_for, receiver_env
from conformance.scenario import load_catalogue
from simulator.server import BackgroundServer

pytest_plugins = ["pytester"]
PLUGIN = ("-p", "conformance.pytest_plugin")
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose runs see the repository's packages and no auto-loaded plugins."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    return pytester


@pytest.fixture
def profile_of(
    inner: pytest.Pytester, live_server: BackgroundServer
) -> Iterator[Callable[[str], Path]]:
    """Start a bundled receiver against the live simulator; return a profile file for it."""
    processes: list[ReceiverProcess] = []

    def start(name: str) -> Path:
        process = ReceiverProcess(receiver_path(name), receiver_env(live_server.url))
        processes.append(process)
        profile = profile_for(process.start(), {"meta": {"pixel_id": "1234567890"}},
                              settle_seconds=0.3)
        path = inner.path / "receiver.yaml"
        path.write_text(yaml.safe_dump(profile.to_dict()), encoding="utf-8")
        return path

    yield start
    for process in processes:
        process.stop()


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = project["project"]["entry-points"]["pytest11"]
    assert entry_points == {"postback_sim": "conformance.pytest_plugin"}


def test_postback_profile_collects_every_scenario_as_a_test_item(inner: pytest.Pytester) -> None:
    profile = profile_for("http://127.0.0.1:9")
    (inner.path / "receiver.yaml").write_text(yaml.safe_dump(profile.to_dict()), encoding="utf-8")
    result = inner.runpytest_subprocess(*PLUGIN, "--postback-profile", "receiver.yaml",
                                        "--collect-only", "-q")
    collected = {line.split("::")[-1] for line in result.outlines if "::" in line}
    assert collected == {s.id for s in load_catalogue()} | {"unclaimed-requests"}


def test_scenario_items_pass_fail_and_skip_with_readable_failures(
    inner: pytest.Pytester, live_server: BackgroundServer, profile_of: Callable[[str], Path]
) -> None:
    profile = profile_of("faulty/hashed_fbc")
    result = inner.runpytest_subprocess(
        *PLUGIN, "--postback-profile", str(profile), "--postback-sim-url", live_server.url,
        "--postback-scenario", "meta-happy-path", "--postback-scenario", "missing-fbclid",
        "--postback-scenario", "tiktok-happy-path", "-rs",
    )
    # the two scenarios that run pass and fail; the run-level unclaimed-requests item passes
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*meta-happy-path: Meta happy path",
        "*[[]META-002[]] data[[]0[]].user_data.fbc: expected the value in clear*got '*",
        "*https://developers.facebook.com/*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_postback_sim_fixture_serves_a_fresh_simulator_for_a_users_test(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile("""
        import requests

        def test_users_own_test(postback_sim):
            assert postback_sim.url.startswith("http://127.0.0.1:")
            spec = requests.get(postback_sim.url + "/api/openapi.json", timeout=5)
            assert spec.status_code == 200
            assert requests.get(postback_sim.url + "/api/journal", timeout=5).json() is not None
            assert postback_sim.services is not None
    """)
    inner.runpytest_subprocess(*PLUGIN).assert_outcomes(passed=1)


def test_platform_mocks_answer_calls_to_the_real_platform_hosts_in_process(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile("""
        import time

        import requests

        def test_receiver_calling_graph_facebook_com(platform_mocks):
            now = int(time.time())
            event = {"event_name": "Purchase", "event_time": now, "event_id": "t-1",
                     "action_source": "website", "event_source_url": "https://shop.example/",
                     "user_data": {"client_ip_address": "198.51.100.7",
                                   "client_user_agent": "Mozilla/5.0"},
                     "custom_data": {"value": 12.5, "currency": "EUR"}}
            answer = requests.post(
                "https://graph.facebook.com/v21.0/1234567890/events",
                params={"access_token": "t"}, json={"data": [event]}, timeout=5)
            assert answer.status_code == 200, answer.text
            assert answer.json()["events_received"] == 1

        def test_a_rejected_request_gets_the_platforms_error_body(platform_mocks):
            answer = requests.post(
                "https://googleads.googleapis.com/v18/customers/1234567890:uploadClickConversions",
                json={"conversions": []}, timeout=5)
            assert answer.status_code >= 400
            assert "error" in answer.json()
    """)
    inner.runpytest_subprocess(*PLUGIN).assert_outcomes(passed=2)


def test_without_a_profile_the_plugin_adds_no_items(inner: pytest.Pytester) -> None:
    inner.makepyfile("def test_only_mine():\n    assert True\n")
    result = inner.runpytest_subprocess(*PLUGIN, "-q")
    result.assert_outcomes(passed=1)
