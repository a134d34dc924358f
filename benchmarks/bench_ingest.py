"""Mock ingest: wrk POSTs Meta Conversions API requests (1-event and 100-event bodies) at the
mock Meta endpoint of `postback-sim serve`, and at two peers in the same run: WireMock with a
JSON-schema stub and its default unbounded journal, and Prism validating against OpenAPI. A
third reference, the framework floor (floor_app.py), is serve's own gunicorn and Flask doing no
work: the `FLOOR` lines split a miss into our handlers' cost and the server's.

Targets (issue 13): >= 1.5x Prism's rate on both bodies; >= 0.35x WireMock's request rate on
1-event bodies; >= 0.5x WireMock's events/s on 100-event bodies.

    python benchmarks/bench_ingest.py [--quick] [--seconds S] [--rounds R] [--only ours,...]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import meta_contract
import peers
from environment import describe
from processes import LOCALHOST, ManagedProcess, StartError, run_benchmark, stop_on_sigterm
from sim_processes import postback_sim_serve
from stats import Series, fmt, ratio, verdict
from wrk_load import run_wrk, write_post_script

SIZES = (1, 100)
SERVERS = ("ours", "floor", "wiremock", "prism")
LABELS = {"ours": "postback-sim (gunicorn gthread)", "floor": "framework floor (no work)",
          "wiremock": "WireMock", "prism": "Prism"}


def start(name: str, root: Path, stack: ExitStack) -> ManagedProcess | None:
    """Start a server; a peer that cannot start is reported and skipped, ours must start."""
    factory = {"ours": postback_sim_serve, "floor": peers.floor, "wiremock": peers.wiremock,
               "prism": peers.prism}
    folder = root / name
    folder.mkdir()
    try:
        return stack.enter_context(factory[name](folder))
    except (FileNotFoundError, StartError) as exc:
        if name == "ours":
            raise
        print(f"!! {LABELS[name]} not measured: {exc}", flush=True)
        return None


def journal_rows(root: Path, name: str) -> int:
    db = root / name / "sim.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0])


def settle(proc: ManagedProcess, db: Path) -> float:
    """Seconds until our analyser has diagnosed every request answered so far: reading the
    journal waits for it (Analyser.settle, up to 30 s a call). Called after each of our runs,
    so no work our server deferred runs during the next server's measurement."""
    started = time.monotonic()
    for _ in range(20):
        requests.get(f"http://{LOCALHOST}:{proc.port}/api/journal", params={"limit": 1},
                     timeout=60).raise_for_status()
        with sqlite3.connect(db) as conn:
            if not conn.execute("SELECT COUNT(*) FROM journal_backlog").fetchone()[0]:
                break
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per wrk run, 3 rounds")
    parser.add_argument("--seconds", type=float, default=None, help="per wrk run (10)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", default=",".join(SERVERS),
                        help=f"comma-separated subset of {','.join(SERVERS)}")
    args = parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    chosen = [s for s in SERVERS if s in args.only.split(",")]
    stop_on_sigterm()
    print(describe("bench_ingest: mock Meta CAPI endpoint under wrk, vs WireMock and Prism",
                   tools=("wrk", "java", "node"),
                   extra={"floor": peers.floor_description(),
                          "wiremock": peers.wiremock_description(),
                          "prism": peers.prism_description(),
                          "ours": "python -m conformance.cli serve (= postback-sim serve), "
                                  "SQLite file, fastjsonschema validation, every request journaled",
                          "load": f"wrk -t1 -c{args.connections} -d{seconds:g}s per run, "
                                  f"{args.rounds} rounds, bodies of {SIZES} events, unique "
                                  "event_id per event"}))
    rates = {(s, n): Series(f"{LABELS[s]}, {n}-event body", "req/s")
             for s in chosen for n in SIZES}
    # Ours answers first and diagnoses in the gaps (simulator/platforms/analyser.py): requests
    # over the run plus the wait until all were diagnosed, the rate with none of it deferred.
    diagnosed = {n: Series(f"{LABELS['ours']}, {n}-event body, answered and diagnosed", "req/s")
                 for n in SIZES}
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ingest-")))
        servers = {name: start(name, root, stack) for name in chosen}
        scripts = {n: write_post_script(root, f"meta{n}", meta_contract.body_template(n))
                   for n in SIZES}
        urls = {name: f"http://{LOCALHOST}:{proc.port}{meta_contract.PATH}?{meta_contract.QUERY}"
                for name, proc in servers.items() if proc is not None}
        ours_db = root / "ours" / "sim.db"
        for name, url in urls.items():  # warm-up: JIT (WireMock), imports and caches (all)
            for n in SIZES:
                run_wrk(url, seconds=min(seconds, 3.0), connections=args.connections,
                        script=scripts[n])
                if name == "ours":
                    settle(servers[name], ours_db)
        for r in range(args.rounds):
            for n in SIZES:
                for name, url in urls.items():
                    result = run_wrk(url, seconds=seconds, connections=args.connections,
                                     script=scripts[n])
                    note = "" if result.ok else (f"  !! non-2xx {result.non_2xx}, "
                                                 f"socket errors {result.socket_errors}")
                    rates[(name, n)].add(result.rate)
                    if name == "ours":
                        lag = settle(servers[name], ours_db)
                        diagnosed[n].add(result.requests / (result.seconds + lag))
                        note += f"  (all diagnosed {fmt(lag)} s after the run)"
                    print(f"round {r + 1} {n:>3}-event {LABELS[name]:<32} "
                          f"{fmt(result.rate):>7} req/s {fmt(result.rate * n):>9} events/s  "
                          f"p50 {fmt(result.latency_ms.get('p50', float('nan')))} ms "
                          f"p99 {fmt(result.latency_ms.get('p99', float('nan')))} ms{note}",
                          flush=True)
        if "ours" in urls:
            print(f"{LABELS['ours']}: journal holds {journal_rows(root, 'ours'):,} requests",
                  flush=True)
    print()
    for series in [*rates.values(), *(d for d in diagnosed.values() if d.values)]:
        print(series.describe())
    print()
    checks = []
    if ("ours", 1) in rates and ("wiremock", 1) in rates:
        checks.append(("ours / WireMock req/s, 1-event",
                       ratio(rates[("ours", 1)], rates[("wiremock", 1)]), 0.35))
    if ("ours", 100) in rates and ("wiremock", 100) in rates:
        checks.append(("ours / WireMock events/s, 100-event",
                       ratio(rates[("ours", 100)], rates[("wiremock", 100)]), 0.5))
    for n in SIZES:
        if ("ours", n) in rates and ("prism", n) in rates:
            checks.append((f"ours / Prism req/s, {n}-event",
                           ratio(rates[("ours", n)], rates[("prism", n)]), 1.5))
    for label, value, target in checks:
        print(f"RATIO {label} = {fmt(value)}x (target >= {target}x): {verdict(value, target)}")
    # Where a miss comes from: our handlers' own work (ours / floor), or the server and Flask
    # before any of it (floor / peer: the most any handler change could reach).
    for n in SIZES:
        for a, b in (("ours", "floor"), ("floor", "prism"), ("floor", "wiremock")):
            if (a, n) in rates and (b, n) in rates:
                print(f"FLOOR {LABELS[a]} / {LABELS[b]} req/s, {n}-event = "
                      f"{fmt(ratio(rates[(a, n)], rates[(b, n)]))}x")
    return 0


if __name__ == "__main__":
    run_benchmark(main)
