"""`postback-sim demo`: a simulator and the reference receiver on free ports, the whole catalogue.

The first thing a new user runs; the CLI prints the events through the console reporter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

from conformance.grpc_mock import client_library_env
from conformance.paths import receiver_path
from conformance.receiver_process import ReceiverProcess, profile_for, receiver_env
from conformance.results import RunEvent
from conformance.runner import DEFAULT_WORKERS, RunOptions, run, start_simulator
from conformance.scenario import Scenario, load_catalogue


def demo_events(network: str | None = None) -> Iterator[RunEvent]:
    """The CLI's `postback-sim demo`: the whole catalogue against the reference receiver, the
    postbacks sent as `network` sends them."""
    return demo(network=network)


def demo(
    receiver: str = "reference",
    scenarios: list[Scenario] | None = None,
    workers: int = DEFAULT_WORKERS,
    platforms: dict[str, dict[str, str]] | None = None,
    network: str | None = None,
) -> Iterator[RunEvent]:
    """Start a simulator and a bundled receiver, run the scenarios (default: all), stop both.

    `platforms` (default: all four with the bundled ids) is what the receiver forwards to; the
    other platforms' scenarios are skipped, as for a user's profile.

    ReceiverStartError propagates before any event when the receiver does not come up.
    """
    chosen = scenarios if scenarios is not None else load_catalogue()
    with ExitStack() as stack:
        sim_url = start_simulator(0, stack)
        # Receivers built on Google's client libraries read these; the others ignore them.
        credentials = Path(stack.enter_context(TemporaryDirectory(prefix="postback-sim-")))
        env = {**receiver_env(sim_url), **client_library_env(sim_url, credentials)}
        process = ReceiverProcess(receiver_path(receiver), env)
        stack.callback(process.stop)
        receiver_url = process.start()
        profile = profile_for(receiver_url, platforms, network=network)
        yield from run(profile, chosen, RunOptions(sim_url=sim_url, workers=workers))
