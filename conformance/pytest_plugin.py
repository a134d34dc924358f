"""pytest plugin (entry point `pytest11`): scenarios as test items, and fixtures for users' tests.

- `pytest --postback-profile receiver.yaml` collects the scenario catalogue as test items
  (`--scenarios-dir DIR` adds a team's own scenario files).
- `postback_sim`: a live simulator on 127.0.0.1 for a test, with its app and URL.
- `platform_mocks`: routes `requests` calls to the real platform hosts into a simulator app
  (built on `responses`), for Python receivers that call graph.facebook.com and friends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.results import ScenarioFinished, ScenarioResult


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("postback-sim", "postback receiver conformance")
    group.addoption("--postback-profile", metavar="FILE", default=None,
                    help="Run the postback-sim scenarios against the receiver this profile "
                         "describes, one test item per scenario.")
    group.addoption("--postback-scenario", metavar="ID", action="append", default=[],
                    help="Only this scenario (repeatable).")
    group.addoption("--postback-tag", metavar="TAG", action="append", default=[],
                    help="Only scenarios with this tag (repeatable).")
    group.addoption("--scenarios-dir", "--postback-scenarios-dir", dest="postback_scenarios_dir",
                    metavar="DIR", action="append", default=[],
                    help="Also collect the scenario files in this folder, beside the built-in "
                         "catalogue (repeatable).")
    group.addoption("--postback-sim-url", metavar="URL", default=None,
                    help="Use a running simulator instead of starting one in-process.")
    group.addoption("--postback-port", metavar="N", type=int, default=8000,
                    help="Port of the in-process simulator (default 8000).")


class ScenarioFailure(Exception):
    """Raised by a scenario item whose scenario failed; its text is the findings."""


class _RunCache:
    """Runs the selected scenarios once, concurrently, on the first item that needs them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: dict[str, ScenarioResult] | None = None

    def result(self, scenario_id: str) -> ScenarioResult:
        if self.results is None:
            from conformance.runner import run_scenarios

            opt = self.config.getoption
            events = run_scenarios(
                opt("--postback-profile"),
                scenario_ids=list(opt("--postback-scenario")),
                tags=list(opt("--postback-tag")),
                sim_url=opt("--postback-sim-url"),
                port=opt("--postback-port"),
                scenario_dirs=list(opt("--postback-scenarios-dir")),
            )
            self.results = {
                e.result.id: e.result for e in events if isinstance(e, ScenarioFinished)
            }
        return self.results[scenario_id]

    def unclaimed(self) -> ScenarioResult | None:
        """The run-level result for requests no scenario accounts for, if the run had any."""
        from conformance.runner import UNCLAIMED_ID

        if self.results is None:
            return None
        return self.results.get(UNCLAIMED_ID)


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, cache: _RunCache, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.cache = cache

    def runtest(self) -> None:
        result = self.cache.result(self.scenario.id)
        if result.status == "skipped":
            pytest.skip(result.error or "scenario not applicable to this profile")
        if result.status in ("failed", "error"):
            lines = [result.error] if result.error else []
            lines += [f"[{f['rule']}] {f['message']}\n    {f.get('doc_url', '')}"
                      for f in result.findings]
            raise ScenarioFailure("\n".join(lines) or result.status)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, ScenarioFailure):
            return f"{self.scenario.id}: {self.scenario.title}\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        return str(self.scenario.path), 0, f"scenario {self.scenario.id}"


class UnclaimedRequestsItem(pytest.Item):
    """Fails when the run recorded platform requests that no scenario accounts for (RUN-001)."""

    def __init__(self, *, cache: _RunCache, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cache = cache

    def runtest(self) -> None:
        result = self.cache.unclaimed()
        if result is not None:
            raise ScenarioFailure("\n".join(f"[{f['rule']}] {f['message']}"
                                            for f in result.findings))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, ScenarioFailure):
            return f"platform requests no scenario accounts for:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        return "postback-sim", 0, "unclaimed platform requests"


class ScenarioCatalogue(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        from conformance.scenario import ScenarioError, load_catalogue

        opt = self.config.getoption
        try:
            catalogue = load_catalogue(extra=opt("--postback-scenarios-dir"))
        except ScenarioError as exc:  # a bad or clashing scenario file: one line, no traceback
            raise pytest.UsageError(f"postback-sim: {exc}") from None
        wanted_ids = set(opt("--postback-scenario"))
        wanted_tags = set(opt("--postback-tag"))
        cache = _RunCache(self.config)
        items: list[pytest.Item] = []
        for scenario in catalogue:
            if wanted_ids and scenario.id not in wanted_ids:
                continue
            if wanted_tags and not wanted_tags & set(scenario.tags):
                continue
            items.append(ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario,
                                                  cache=cache))
        if items:  # after the scenarios: it reads the run they started
            items.append(UnclaimedRequestsItem.from_parent(self, name="unclaimed-requests",
                                                           cache=cache))
        return items


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if not config.getoption("--postback-profile"):
        return
    catalogue = ScenarioCatalogue.from_parent(session, name="postback-sim")
    items.extend(catalogue.collect())


@dataclass
class LiveSimulator:
    """A simulator serving on 127.0.0.1 for one test."""

    app: Any
    url: str

    @property
    def services(self) -> Any:
        from simulator.services import EXTENSION_KEY

        return self.app.extensions[EXTENSION_KEY]


@pytest.fixture
def postback_sim() -> Iterator[LiveSimulator]:
    """A fresh in-memory simulator on a free port, stopped after the test."""
    from simulator import create_app, testing_config
    from simulator.app import shutdown
    from simulator.server import BackgroundServer

    app = create_app(testing_config())
    with BackgroundServer(app) as server:
        yield LiveSimulator(app=app, url=server.url)
    shutdown(app)


@pytest.fixture
def platform_mocks() -> Iterator[LiveSimulator]:
    """Route `requests` calls to graph.facebook.com, business-api.tiktok.com,
    googleads.googleapis.com and datamanager.googleapis.com into a simulator's mocks."""
    import responses

    from conformance.inprocess import route_platforms
    from simulator import create_app, testing_config
    from simulator.app import shutdown

    app = create_app(testing_config(start_workers=False))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        route_platforms(rsps, app)
        yield LiveSimulator(app=app, url="in-process")
    shutdown(app)
