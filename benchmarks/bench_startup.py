"""Start-up: `postback-sim demo` from a cold process to its printed report, against the floor
of any run: a fresh interpreter importing the package (`python -c "import simulator,
conformance.cli"`), measured side by side in the same run.

Target (issue 6): the demo prints its report in under 15 s on this machine.

    python benchmarks/bench_startup.py [--quick] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment import describe
from processes import run_benchmark, stop_on_sigterm
from stats import Series, fmt, paired_ratios, ratio, verdict

TARGET_S = 15.0
REPO = Path(__file__).resolve().parents[1]
# `postback-sim demo` is `python -m conformance.cli demo` (the console script's entry point),
# so this runs without `pip install -e .`.
DEMO = [sys.executable, "-m", "conformance.cli", "demo"]
BASELINE = [sys.executable, "-c", "import simulator, conformance.cli"]
EMPTY = [sys.executable, "-c", "pass"]
SUMMARY = re.compile(r"(\d+) passed, (\d+) failed, (\d+) errors?, (\d+) skipped")


def timed(command: list[str], timeout: float) -> tuple[float, str, int, float | None]:
    """Wall seconds from spawn to exit, the output, the exit code, and seconds to the first
    line of output (for the demo: the runner has started, so the rest is the catalogue)."""
    began = time.perf_counter()
    first: float | None = None
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}) as process:
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            for line in process.stdout or ():
                if first is None:
                    first = time.perf_counter() - began
                lines.append(line)
            code = process.wait()
        finally:
            timer.cancel()
    return time.perf_counter() - began, "".join(lines), code, first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds (the default is 5)")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 5)
    stop_on_sigterm()
    print(describe("bench_startup: postback-sim demo, cold process to printed report",
                   extra={"load": f"{rounds} rounds; demo = {' '.join(DEMO[1:])}; baseline = "
                                  f"{' '.join(BASELINE[1:])}"}))
    demo = Series("postback-sim demo (cold start to report)", "s")
    first_line = Series("demo: cold start to its first printed line", "s")
    baseline = Series("python + import simulator, conformance.cli", "s")
    empty = Series("python -c pass", "s")
    for r in range(rounds):
        empty.add(timed(EMPTY, 60)[0])
        baseline.add(timed(BASELINE, 60)[0])
        wall, output, code, first = timed(DEMO, 300)
        demo.add(wall)
        if first is not None:
            first_line.add(first)
        summary = SUMMARY.search(output)
        reported = summary.group(0) if summary else "NO REPORT: " + output.strip()[-300:]
        print(f"round {r + 1}: demo {wall:.2f}s (first line {first or float('nan'):.2f}s, "
              f"exit {code}; {reported}), import "
              f"{baseline.values[-1]:.2f}s, bare python {empty.values[-1]:.2f}s", flush=True)
    print()
    for series in (demo, first_line, baseline, empty):
        print(series.describe())
    print(paired_ratios(demo, baseline).describe())
    print(f"RATIO demo / import baseline = {fmt(ratio(demo, baseline))}x")
    print(f"demo wall time {fmt(demo.median)} s (target < {TARGET_S:g} s): "
          f"{verdict(demo.median, TARGET_S, higher_is_better=False)}")
    return 0


if __name__ == "__main__":
    run_benchmark(main)
