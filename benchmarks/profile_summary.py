"""Summarise a py-spy raw (collapsed-stack) profile: where each thread's samples go.

    py-spy record --threads --format raw -o run.raw -- python benchmarks/bench_x.py ...
    python benchmarks/profile_summary.py run.raw [--thread delivery] [--top 25]

Frames are grouped by function (line numbers dropped), so "inclusive" is the share of samples
in which a function is on the stack and "self" the share in which it is the innermost frame.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

THREAD = re.compile(r"^thread \(\d+\)(?::\s*(?P<name>.*))?$")
LINE = re.compile(r"\s*\(([^():]+):\d+\)$")


def function_of(frame: str) -> str:
    """`Store.query (simulator/store.py:81)` -> `Store.query (simulator/store.py)`."""
    return LINE.sub(lambda m: f" ({m.group(1)})", frame)


def thread_group(name: str) -> str:
    """`delivery-3` -> `delivery-*`, so a pool's threads add up."""
    return re.sub(r"-\d+$", "-*", name) if name else "(unnamed)"


def summarise(path: Path, thread: str | None, top: int) -> str:
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    innermost: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # --subprocesses puts a `process PID:"command"` frame first; one process is assumed.
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        match = THREAD.match(frames[0])
        name = ""
        if match:
            name = match.group("name") or ""
            frames = frames[1:]
        threads[thread_group(name)] += count
        if thread and not name.startswith(thread):
            continue
        total += count
        for func in {function_of(f) for f in frames}:
            inclusive[func] += count
        if frames:
            innermost[function_of(frames[-1])] += count
    out = ["samples per thread group:"]
    out += [f"  {n:>7}  {name}" for name, n in threads.most_common()]
    label = f"threads starting {thread!r}" if thread else "all threads"
    out.append(f"\n{label}: {total} samples; top inclusive (share of samples on the stack):")
    share = max(total, 1)
    out += [f"  {n / share:6.1%}  {func}" for func, n in inclusive.most_common(top)]
    out.append("top self (innermost frame):")
    out += [f"  {n / share:6.1%}  {func}" for func, n in innermost.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--thread", default=None, help="only threads whose name starts so")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    print(summarise(args.raw, args.thread, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
