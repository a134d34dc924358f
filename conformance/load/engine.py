"""`postback-sim load`: a simulator, Locust on the packaged locustfile, then the verdict.

Locust runs as a child process: it monkey-patches the standard library with gevent on import,
which the in-process simulator's threads must never see. The child inherits the terminal, so
its live stats table is the progress a person watches; the ledger file carries back what was
fired, and the verdict is read from the simulator's journal once Locust has exited.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

from conformance.errors import ConformanceError
from conformance.load.faults import FaultSpec
from conformance.load.ledger import read_ledger
from conformance.load.verdict import LoadReport, Tally
from conformance.profile import PLATFORMS, Profile, load_profile
from conformance.simclient import SimClient, SimulatorError

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
INSTALL_HINT = 'Locust is not installed: pip install "postback-sim[load]"'
JOURNAL_PAGE = 5000
QUIET_S = 5.0  # no new platform request for this long: the missing ones are not coming
MAX_WAIT_S = 120.0  # the journal wait's bound, however busy the receiver still is
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([hms])")


class LoadError(ConformanceError, RuntimeError):
    """The load run cannot start or judge (Locust missing, simulator unreachable); one line."""


@dataclass(frozen=True)
class LoadOptions:
    """How to load: users and pacing, where the simulator is, Locust's mode, faults, sample."""

    users: int = 10
    spawn_rate: float = 10.0
    run_time_s: float | None = 60.0  # None: until stopped (the web UI's Stop, Ctrl-C)
    rate: float | None = None  # conversions/s over all users; None: one per user per second
    web: bool = False
    web_port: int = 8089
    sim_url: str | None = None
    port: int = 8000
    grpc_port: int | None = None
    master: bool = False
    expect_workers: int = 1
    master_bind_host: str = "127.0.0.1"
    master_port: int = 5557
    faults: tuple[FaultSpec, ...] = ()
    sample: float = 0.1
    timeout_s: float = 10.0
    settle_s: float | None = None  # None: the profile's settle_seconds
    csv_prefix: str | None = None


def parse_duration(text: str) -> float:
    """`30s`, `10m`, `1h30m` or plain seconds, as Locust's --run-time reads them."""
    text = text.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m or 1h30m")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def locust_missing() -> str | None:
    """The install hint when Locust cannot be imported, else None."""
    return None if importlib.util.find_spec("locust") else INSTALL_HINT


def locust_command(options: LoadOptions, profile: Profile, sim_url: str,
                   ledger: Path) -> list[str]:
    """The Locust command line for the master or the lone process."""
    platforms = [p for p in PLATFORMS if profile.tests(p)]
    profile_data = {k: v for k, v in profile.to_dict().items() if v is not None}
    config = {"sim_url": sim_url, "profile": profile_data, "platforms": platforms,
              "run_time": options.run_time_s, "timeout": options.timeout_s,
              "per_user_rate": (options.rate / options.users) if options.rate else 1.0,
              "faults": [asdict(f) for f in options.faults]}
    # A user stopping mid-task finishes its postback, retries included.
    stop_timeout = options.timeout_s * 4 + 5
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
               "--users", str(options.users), "--spawn-rate", f"{options.spawn_rate:g}",
               "--stop-timeout", f"{stop_timeout:g}", "--exit-code-on-error", "0",
               "--postback-sim-config", json.dumps(config),
               "--postback-sim-ledger", str(ledger)]
    if options.web:
        command += ["--web-host", "127.0.0.1", "--web-port", str(options.web_port),
                    "--autostart"]
    else:
        command += ["--headless"]
    if options.master:
        command += ["--master", "--master-bind-host", options.master_bind_host,
                    "--master-bind-port", str(options.master_port),
                    "--expect-workers", str(options.expect_workers),
                    "--expect-workers-max-wait", "120"]
    if options.csv_prefix:
        command += ["--csv", options.csv_prefix]
    return command


def worker_command(master_host: str, master_port: int) -> list[str]:
    """A Locust worker: it takes the run's settings from the master when the test starts."""
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
            "--master-host", master_host, "--master-port", str(master_port)]


def run_worker(master_host: str, master_port: int = 5557) -> int:
    """`postback-sim load --worker`: fire for a master until it quits; Locust's exit code."""
    hint = locust_missing()
    if hint:
        raise LoadError(hint)
    return _wait(subprocess.Popen(worker_command(master_host, master_port)))


def run_load(profile_path: str | Path, options: LoadOptions) -> LoadReport:
    """Start (or reach) the simulator, run Locust until its run time ends, judge the journal.

    LoadError / ProfileError (ConformanceError) say in one line why nothing could be judged.
    """
    from conformance.runner import HarnessError, check_receiver, start_simulator

    profile = load_profile(profile_path)
    hint = locust_missing()
    if hint:
        raise LoadError(hint)
    with ExitStack() as stack:
        try:
            sim_url = options.sim_url or start_simulator(options.port, stack, options.grpc_port)
            client = SimClient(sim_url)
            stack.callback(client.close)
            client.ping()
            check_receiver(profile)
            client.clear_faults()
        except (HarnessError, SimulatorError) as exc:
            raise LoadError(str(exc)) from None
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="postback-load-")))
        ledger_path = folder / "ledger.jsonl"
        since = time.time() - 1.0
        began = time.time()
        code = _wait(subprocess.Popen(locust_command(options, profile, sim_url, ledger_path)))
        duration = time.time() - began
        notes = []
        try:
            if options.faults:
                client.clear_faults()
            with ledger_path.open(encoding="utf-8") as lines:
                ledger = read_ledger(lines)
        except FileNotFoundError:
            raise LoadError(f"Locust fired no conversion (exit code {code})") from None
        except SimulatorError as exc:
            raise LoadError(str(exc)) from None
        if not ledger.fired:
            raise LoadError(f"Locust fired no conversion (exit code {code})")
        if code:
            notes.append(f"Locust exited with code {code}")
        notes += [f"fault: {f.describe()}" for f in options.faults]
        fired_at = [f.fired_at for f in ledger.fired.values()]
        duration = max(fired_at) - min(fired_at) if len(fired_at) > 1 else duration
        settle = profile.settle_seconds if options.settle_s is None else options.settle_s
        tally = Tally(ledger, profile, options.sample)
        try:
            await_journal(client, tally, since, settle)
        except SimulatorError as exc:
            raise LoadError(str(exc)) from None
        return tally.report(duration, notes)


def await_journal(client: SimClient, tally: Tally, since: float, settle_s: float,
                  quiet_s: float = QUIET_S, max_wait_s: float = MAX_WAIT_S) -> None:
    """Read the journal into the tally until every conversion has an accepted event (or no new
    request came for `quiet_s`), then `settle_s` more for late duplicates."""
    hard_stop = time.monotonic() + max_wait_s

    def drain() -> int:
        read = 0
        while True:
            page = client.journal(since=since, after_id=tally.last_id, limit=JOURNAL_PAGE)
            for entry in page:
                tally.add(entry)
            read += len(page)
            if len(page) < JOURNAL_PAGE:
                return read

    def wait(seconds: float) -> int:
        seconds = min(seconds, hard_stop - time.monotonic())
        if seconds <= 0:
            return 0
        client.wait_journal(after_id=tally.last_id, since=since, count=1, timeout=seconds)
        return drain()

    drain()
    quiet_until = time.monotonic() + quiet_s
    while not tally.complete() and (now := time.monotonic()) < min(quiet_until, hard_stop):
        if wait(min(1.0, quiet_until - now)):
            quiet_until = time.monotonic() + quiet_s
    settle_until = time.monotonic() + settle_s
    while (left := settle_until - time.monotonic()) > 0 and time.monotonic() < hard_stop:
        wait(left)
    drain()


def _wait(process: subprocess.Popen[bytes]) -> int:
    """Wait for Locust; a Ctrl-C reaches it too (same process group), so let it finish."""
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue
