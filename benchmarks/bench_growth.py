"""Growth: how `postback-sim serve` holds up when its database is full. Two servers side by
side in the same run, one on an empty database and one on a database filled with 1,000,000
journaled Meta events and 100,000 deliveries (filled in bulk through the store:
growth_fill.py), each measured in turn every round for:

- ingest: wrk POSTing 1-event Meta bodies (as bench_ingest.py), requests/s;
- listing latency, p50/p99 of requests sent one at a time: `/api/journal` (the runner's
  polls: new entries after an id, entries since a time, per platform; and the first page) and
  `/api/deliveries` (the first page, and failed ones);
- the inspector's page data (`/ui/api/inspector`, what the inspector page loads and polls);
- resident memory of serve's process tree (gunicorn master and workers), idle and after load.

Targets (issue 13): at 1M journaled events, ingest >= 0.8x its rate on the empty database,
listing p99 < 100 ms, resident memory < 500 MB.

    python benchmarks/bench_growth.py [--quick] [--events N] [--deliveries N] [--db PATH]

`--db PATH` keeps the filled database there and reuses it next time (filling 1M events takes a
few minutes); each run adds the requests its ingest rounds send.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import growth_fill
import meta_contract
from environment import describe
from growth_probe import Latency, db_size_mb, latency, rss_mb
from processes import LOCALHOST, ManagedProcess, run_benchmark, stop_on_sigterm
from sim_processes import postback_sim_serve
from stats import Series, fmt, ratio, verdict
from wrk_load import run_wrk, write_post_script

SIDES = ("empty", "full")
LISTING_TARGET_MS = 100.0
RSS_TARGET_MB = 500.0
INGEST_TARGET = 0.8
# The inspector judges every entry of its page with the rules (about a second a page when the
# history is full): fewer samples of it, so a round stays within minutes.
INSPECTOR_SAMPLES = 10


def queries(db: Path) -> dict[str, str]:
    """The requests whose latency is measured, with ids and times from the database's tail."""
    with sqlite3.connect(db) as conn:
        top, newest = conn.execute("SELECT COALESCE(MAX(id), 0), COALESCE(MAX(ts), 0) "
                                   "FROM journal").fetchone()
    since = newest - 60
    return {
        "journal: after an id (runner poll)": f"/api/journal?after_id={max(0, top - 100)}",
        "journal: since a time": f"/api/journal?since={since:.3f}&limit=100",
        "journal: platform + since": f"/api/journal?platform=meta&since={since:.3f}&limit=100",
        "journal: first page": "/api/journal?limit=100",
        "deliveries: first page": "/api/deliveries",
        "deliveries: failed": "/api/deliveries?status=failed",
        "inspector page data": "/ui/api/inspector",
    }


def journaled(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        return (conn.execute("SELECT COUNT(*) FROM journal_events").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0])


def prepare_full(path: Path, events: int, deliveries: int) -> None:
    """Fill `path` unless it already holds at least that many events and deliveries."""
    if path.exists():
        have = journaled(path)
        if have[0] >= events and have[1] >= deliveries:
            print(f"reusing {path}: {have[0]:,} journaled events, {have[1]:,} deliveries",
                  flush=True)
            return
        raise SystemExit(f"{path} holds {have[0]:,} events and {have[1]:,} deliveries, fewer "
                         "than asked: remove it or name another --db")
    body = meta_contract.body_template(1).replace("__SEQ__", growth_fill.TEMPLATE_EVENT_ID)
    last = [0.0]

    def progress(text: str) -> None:
        if time.monotonic() - last[0] > 10:
            last[0] = time.monotonic()
            print(f"  filling: {text}", flush=True)

    took = growth_fill.fill(path, body.encode(), events=events, deliveries=deliveries,
                            progress=progress)
    print(f"filled {path} in {took:.0f} s: {events:,} events, {deliveries:,} deliveries, "
          f"{db_size_mb(path):,.0f} MiB", flush=True)


def start(root: Path, name: str, stack: ExitStack) -> tuple[ManagedProcess, float]:
    started = time.monotonic()
    proc = stack.enter_context(postback_sim_serve(root, name, "--grpc-port", "0"))
    return proc, time.monotonic() - started


def settle(proc: ManagedProcess) -> float:
    """Seconds until the analyser caught up with what ingest journaled (a reader's wait)."""
    assert proc.port is not None
    started = time.monotonic()
    latency(proc.port, "/api/journal?after_id=9223372036854775806&limit=1", 1, warmup=0)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 s wrk runs, 50 requests per query per round")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=None, help="per wrk run (10)")
    parser.add_argument("--samples", type=int, default=None,
                        help="requests per query per round (200)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--db", type=Path, default=None,
                        help="where to keep (and reuse) the full database")
    args = parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    samples = args.samples or (50 if args.quick else 200)
    stop_on_sigterm()
    print(describe("bench_growth: serve on an empty database vs a full one, side by side",
                   tools=("wrk",),
                   extra={"full": f"{args.events:,} journaled Meta events (1 per request), "
                                  f"{args.deliveries:,} deliveries, bulk-filled",
                          "load": f"wrk -t1 -c{args.connections} -d{seconds:g}s 1-event Meta "
                                  f"bodies; {samples} GETs per query per round, one at a time; "
                                  f"{args.rounds} rounds"}))
    ingest = {s: Series(f"ingest, {s} database", "req/s") for s in SIDES}
    waits = {s: Series(f"analyser catch-up after ingest, {s} database", "s") for s in SIDES}
    lat: dict[tuple[str, str], list[float]] = {}
    rss: dict[str, list[float]] = {s: [] for s in SIDES}
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-growth-")))
        full_db = args.db or root / "full.db"
        prepare_full(full_db.resolve(), args.events, args.deliveries)
        if args.db:
            (root / "full.db").symlink_to(full_db.resolve())
            for suffix in ("-wal", "-shm"):
                (root / f"full.db{suffix}").symlink_to(Path(f"{full_db.resolve()}{suffix}"))
        servers: dict[str, ManagedProcess] = {}
        for side in SIDES:
            servers[side], took = start(root, f"{side}.db", stack)
            print(f"serve on the {side} database: up in {took:.1f} s", flush=True)
        script = write_post_script(root, "meta1", meta_contract.body_template(1))
        url = {s: f"http://{LOCALHOST}:{p.port}{meta_contract.PATH}?{meta_contract.QUERY}"
               for s, p in servers.items()}
        for side, proc in servers.items():
            rss[side].append(rss_mb(proc.process.pid)[0])
            run_wrk(url[side], seconds=min(seconds, 2.0), connections=args.connections,
                    script=script)
            settle(proc)
        for r in range(args.rounds):
            order = SIDES if r % 2 == 0 else SIDES[::-1]
            for side in order:
                proc = servers[side]
                result = run_wrk(url[side], seconds=seconds, connections=args.connections,
                                 script=script)
                ingest[side].add(result.rate)
                waits[side].add(settle(proc))
                note = "" if result.ok else f"  !! non-2xx {result.non_2xx}"
                print(f"round {r + 1} {side:<5} ingest {fmt(result.rate):>7} req/s "
                      f"(analyser caught up {waits[side].values[-1]:.2f} s later){note}",
                      flush=True)
                assert proc.port is not None
                for label, path in queries(root / f"{side}.db").items():
                    count = INSPECTOR_SAMPLES if label.startswith("inspector") else samples
                    got: Latency = latency(proc.port, path, count)
                    lat.setdefault((side, label), []).extend(got.samples)
                    print(f"round {r + 1} {side:<5} {label:<36} p50 {fmt(got.p50):>6} ms "
                          f"p99 {fmt(got.p99):>6} ms ({got.size:,} bytes)", flush=True)
                rss[side].append(rss_mb(proc.process.pid)[0])
        labels = list(queries(root / "full.db"))
        for side in SIDES:
            events, deliveries = journaled(root / f"{side}.db")
            print(f"{side} database at the end: {events:,} journaled events, "
                  f"{deliveries:,} deliveries, {db_size_mb(root / f'{side}.db'):,.0f} MiB; "
                  f"serve RSS {', '.join(f'{v:.0f}' for v in rss[side])} MiB", flush=True)
    print()
    for side in SIDES:
        print(ingest[side].describe())
        print(waits[side].describe())
    print()
    print(f"{'query':<38} {'empty p50/p99 ms':>18} {'full p50/p99 ms':>18}")
    for label in labels:
        cells = [f"{fmt(Latency(lat[(s, label)], 200, 0).p50)} / "
                 f"{fmt(Latency(lat[(s, label)], 200, 0).p99)}" for s in SIDES]
        print(f"{label:<38} {cells[0]:>18} {cells[1]:>18}")
    print()
    value = ratio(ingest["full"], ingest["empty"])
    print(f"RATIO ingest full / empty = {fmt(value)}x (target >= {INGEST_TARGET}x): "
          f"{verdict(value, INGEST_TARGET)}")
    for label in labels:
        if label.startswith(("journal", "deliveries")):
            p99 = Latency(lat[("full", label)], 200, 0).p99
            print(f"LATENCY {label} p99 on the full database = {fmt(p99)} ms (target < "
                  f"{LISTING_TARGET_MS:g} ms): "
                  f"{verdict(p99, LISTING_TARGET_MS, higher_is_better=False)}")
    peak = max(rss["full"])
    print(f"MEMORY serve RSS on the full database, peak = {peak:.0f} MiB (empty: "
          f"{max(rss['empty']):.0f} MiB; target < {RSS_TARGET_MB:g} MB): "
          f"{verdict(peak, RSS_TARGET_MB, higher_is_better=False)}")
    return 0


if __name__ == "__main__":
    run_benchmark(main)
