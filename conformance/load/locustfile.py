"""Locust's side of `postback-sim load`: the simulated users, and the ledger they fill.

Runs only inside Locust's process (`python -m locust -f` this file; `conformance.load.engine`
builds the command). Each user loops: an ad click issued by a mock platform (the profile's
platforms, mixed), then the profile's postback fired at the receiver as the network fires it.
The master (or the lone process) keeps the ledger and arms `--fault`s; workers send it their
records. The run time is kept here rather than by Locust's `-t`, whose headless quit does not
wait for the workers' last records.
"""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any

import gevent
from locust import User, constant_throughput, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from conformance.load.faults import FaultPump, FaultSpec
from conformance.load.ledger import (
    LedgerWriter,
    Record,
    answered_record,
    error_record,
    fired_record,
)
from conformance.load.postbacks import AD_CLICK_AGO_S, Attempt, fire, make_conversion, postback_url
from conformance.profile import profile_from_mapping
from conformance.simclient import SimClient, SimulatorError
from simulator.http_client import AiohttpClient

LEDGER_MESSAGE = "postback_sim_ledger"
HELLO_MESSAGE = "postback_sim_hello"
DONE_MESSAGE = "postback_sim_done"
FLUSH_EVERY_S = 0.5
LAST_RECORDS_WAIT_S = 30.0
WORKER_LINGER_S = 1.0
log = logging.getLogger("postback_sim.load")


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--postback-sim-config", default="{}", include_in_web_ui=False,
                        help="postback-sim: the run's settings as JSON (set by the CLI).")
    parser.add_argument("--postback-sim-ledger", default="", include_in_web_ui=False,
                        help="postback-sim: the file the ledger is written to (master only).")


class LoadState:
    """One Locust process's share of the run: settings, clients, unsent records."""

    def __init__(self, environment: Environment) -> None:
        options = environment.parsed_options
        config = json.loads(options.postback_sim_config)
        self.environment = environment
        self.config = config
        self.profile = profile_from_mapping(config["profile"], source="profile")
        self.platforms = list(config["platforms"])
        self.sim = SimClient(config["sim_url"])
        self.http = AiohttpClient()
        self.rng = random.Random()
        self.outbox: list[Record] = []
        path = options.postback_sim_ledger
        is_worker = isinstance(environment.runner, WorkerRunner)
        self.writer = LedgerWriter(path) if path and not is_worker else None
        self.pump = FaultPump([FaultSpec(**f) for f in config.get("faults", [])])
        self.hello: set[str] = set()
        self.done: set[str] = set()
        self.run_time_over = False  # the stop is ours: the workers' last records are awaited

    def emit(self, record: Record) -> None:
        self.outbox.append(record)

    def flush(self) -> None:
        """Hand the unsent records to the ledger: written here, or sent to the master."""
        records, self.outbox = self.outbox, []
        if not records:
            return
        if self.writer is not None:
            self.keep(records)
        else:
            self.environment.runner.send_message(LEDGER_MESSAGE, records)

    def keep(self, records: list[Record]) -> None:
        assert self.writer is not None
        self.writer.write(records)
        for record in records:
            if record["type"] == "fired":
                self.pump.observe(record["platform"])

    def arm_faults(self) -> None:
        try:
            self.pump.pump(self.sim)
        except SimulatorError as exc:
            log.warning("postback-sim: could not arm faults: %s", exc)


STATE: LoadState | None = None


def _state() -> LoadState:
    assert STATE is not None, "test_start has not run"
    return STATE


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(LEDGER_MESSAGE, lambda msg, **_kw: _state().keep(msg.data))
        runner.register_message(HELLO_MESSAGE, lambda msg, **_kw: _state().hello.add(msg.data))
        runner.register_message(DONE_MESSAGE, lambda msg, **_kw: _state().done.add(msg.data))


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    global STATE
    STATE = state = LoadState(environment)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message(HELLO_MESSAGE, runner.client_id)
    if not isinstance(runner, MasterRunner):
        gevent.spawn(_every, FLUSH_EVERY_S, state.flush)
    if not isinstance(runner, WorkerRunner):
        if state.pump.specs:
            gevent.spawn(_every, FLUSH_EVERY_S, state.arm_faults)
        if state.config.get("run_time"):
            gevent.spawn_later(state.config["run_time"], _end_of_run_time, state, runner)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    state, runner = _state(), environment.runner
    if isinstance(runner, WorkerRunner):
        state.flush()
        runner.send_message(DONE_MESSAGE, runner.client_id)
        # A stopped run is over: leave once Locust has told the master (its "client_stopped").
        gevent.spawn_later(WORKER_LINGER_S, runner.quit)
        return
    state.flush()
    if isinstance(runner, MasterRunner) and state.run_time_over:
        deadline = time.monotonic() + LAST_RECORDS_WAIT_S
        while not state.hello <= state.done and time.monotonic() < deadline:
            gevent.sleep(0.1)
    if state.writer is not None:
        state.writer.close()
        state.writer = None
    gevent.spawn(_quit, environment)  # the verdict comes after this run: end Locust's process


def _quit(environment: Environment) -> None:
    environment.runner.quit()
    if environment.web_ui is not None:  # with --web, the UI is what keeps Locust running
        environment.web_ui.stop()


def _end_of_run_time(state: LoadState, runner: Any) -> None:
    state.run_time_over = True
    runner.stop()


def _every(seconds: float, action: Any) -> None:
    while True:
        gevent.sleep(seconds)
        action()


class ConversionUser(User):
    """Fires one conversion per task: ad click, postback, ledger records."""

    def on_start(self) -> None:
        per_user = _state().config.get("per_user_rate")
        self._pace = constant_throughput(per_user) if per_user else None

    def wait_time(self) -> float:
        return self._pace(self) if self._pace else 0.0

    @task
    def convert(self) -> None:
        state = _state()
        platform = state.rng.choice(state.platforms)
        started = time.perf_counter()
        try:
            ad_click = state.sim.ad_click(platform, "normal", AD_CLICK_AGO_S)
        except SimulatorError as exc:
            self._report("POST", "sim ad-click", started, str(exc))
            state.emit(error_record(f"ad click refused: {exc}"))
            return
        self._report("POST", "sim ad-click", started, None)
        conversion = make_conversion(state.profile, platform, ad_click, state.rng)
        url = postback_url(state.profile, conversion)
        state.emit(fired_record(conversion, time.time()))

        def report(attempt: Attempt) -> None:
            failed = None
            if attempt.status is None or not 200 <= attempt.status < 400:
                failed = attempt.error or f"HTTP {attempt.status}"
            self._report("GET", f"postback {platform}", None, failed, attempt.ms)

        firing = fire(state.http, url, timeout=state.config["timeout"], sleep=gevent.sleep,
                      on_attempt=report)
        state.emit(answered_record(conversion.conversion_id, firing))

    def _report(self, method: str, name: str, started: float | None, failed: str | None,
                ms: float | None = None) -> None:
        elapsed = ms if ms is not None else (time.perf_counter() - (started or 0.0)) * 1000
        self.environment.events.request.fire(
            request_type=method, name=name, response_time=elapsed, response_length=0,
            exception=RuntimeError(failed) if failed else None, context={})
