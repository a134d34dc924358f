"""Catalogue: the whole scenario catalogue against the reference receiver, against the slowest
single scenario run alone, in the same run (same simulator, same receiver).

Target (issue 6): catalogue wall time <= 2x the slowest single scenario's.

    python benchmarks/bench_catalogue.py [--quick] [--rounds R] [--workers W]
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from environment import describe
from processes import run_benchmark, stop_on_sigterm
from stats import Series, fmt, paired_ratios, ratio, verdict

TARGET = 2.0


def timed_run(profile, scenarios, options, timeline: dict[str, list[float]] | None = None,
              ) -> tuple[float, dict[str, tuple[str, float]]]:
    """Wall seconds for one runner pass, and each scenario's (status, duration); `timeline`
    (if given) receives each scenario's [start, end] offsets in seconds."""
    from conformance.results import RunFinished, ScenarioFinished, ScenarioStarted
    from conformance.runner import run

    began = time.perf_counter()
    summary = None
    for event in run(profile, scenarios, options):
        now = time.perf_counter() - began
        if isinstance(event, RunFinished):
            summary = event.summary
        elif timeline is not None and isinstance(event, ScenarioStarted):
            timeline[event.id] = [now, now]
        elif timeline is not None and isinstance(event, ScenarioFinished):
            timeline.setdefault(event.result.id, [now, now])[1] = now
    wall = time.perf_counter() - began
    if summary is None:
        raise RuntimeError("the runner ended without a summary")
    return wall, {r.id: (r.status, r.duration_s) for r in summary.results}


def print_timeline(timeline: dict[str, list[float]], wall: float, width: int = 60) -> None:
    """One bar per scenario over the run's wall time: where the catalogue's time goes."""
    print(f"timeline of round 1 (each column = {wall / width:.2f}s):")
    for sid, (start, end) in sorted(timeline.items(), key=lambda kv: kv[1][0]):
        a, b = int(start / wall * width), max(int(start / wall * width) + 1,
                                              int(end / wall * width))
        print(f"  {sid[:32]:<32} {start:6.2f} -{end:6.2f}s |{' ' * a}{'#' * (b - a)}"
              f"{' ' * (width - b)}|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds (the default is 5)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None,
                        help="scenarios run at once (default: the runner's)")
    args = parser.parse_args(argv)
    from conformance.paths import receiver_path
    from conformance.receiver_process import ReceiverProcess, profile_for, receiver_env
    from conformance.runner import DEFAULT_WORKERS, RunOptions, start_simulator
    from conformance.scenario import load_catalogue

    rounds = args.rounds or (3 if args.quick else 5)
    workers = args.workers or DEFAULT_WORKERS
    catalogue = load_catalogue()
    stop_on_sigterm()
    print(describe("bench_catalogue: whole catalogue vs its slowest scenario alone",
                   extra={"load": f"{len(catalogue)} scenarios, {workers} at once, "
                                  f"{rounds} rounds; a fresh in-process simulator (werkzeug "
                                  "threaded) and reference receiver subprocess per run, demo "
                                  "profile"}))
    full = Series(f"catalogue ({len(catalogue)} scenarios)", "s")
    single: Series | None = None
    slowest = None
    def fresh(stack: ExitStack) -> tuple[object, RunOptions]:
        """A new in-process simulator and reference receiver, as each `postback-sim run` or
        demo gets: a journal left by earlier rounds would slow the later ones."""
        sim_url = start_simulator(0, stack)
        receiver = ReceiverProcess(receiver_path("reference"), receiver_env(sim_url))
        stack.callback(receiver.stop)
        return profile_for(receiver.start()), RunOptions(sim_url=sim_url, workers=workers)

    for r in range(rounds):
        timeline: dict[str, list[float]] = {}
        with ExitStack() as stack:
            profile, options = fresh(stack)
            wall, results = timed_run(profile, catalogue, options, timeline)
        full.add(wall)
        if r == 0:
            print_timeline(timeline, wall)
        bad = {i: s for i, (s, _) in results.items() if s != "passed"}
        if slowest is None:
            slowest_id = max(results, key=lambda i: results[i][1])
            slowest = next(s for s in catalogue if s.id == slowest_id)
            single = Series(f"slowest scenario alone ({slowest.id})", "s")
            print(f"slowest in the catalogue run: {slowest.id} "
                  f"({results[slowest_id][1]:.2f}s inside the full run)", flush=True)
        with ExitStack() as stack:
            profile, options = fresh(stack)
            alone, alone_results = timed_run(profile, [slowest], options)
        single.add(alone)
        print(f"round {r + 1}: catalogue {wall:.2f}s, {slowest.id} alone {alone:.2f}s"
              + (f"  !! not passed: {bad}" if bad else "")
              + (f"  !! alone: {alone_results}" if alone_results[slowest.id][0] != "passed"
                 else ""), flush=True)
    print()
    print(full.describe())
    if single is None:
        return 1
    print(single.describe())
    print(paired_ratios(full, single).describe())
    value = ratio(full, single)
    print(f"RATIO catalogue / slowest scenario = {fmt(value)}x (target <= {TARGET}x): "
          f"{verdict(value, TARGET, higher_is_better=False)}")
    return 0


if __name__ == "__main__":
    run_benchmark(main)
