"""Firing: the delivery engine sends N postbacks to an nginx sink, every attempt journaled,
against a bare aiohttp loop sending the same URLs to the same sink in the same run.

Target (issue 13, was 0.6x in issue 6): ours >= 0.9x the aiohttp loop's rate.

    python benchmarks/bench_firing.py [--quick] [--count N] [--rounds R] [--workers W]
                                     [--side both|ours|peer] [--clients]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import client_loops
from environment import describe
from nginx_sink import nginx_sink, sink_url
from processes import run_benchmark, stop_on_sigterm, wait_until
from stats import Series, fmt, paired_ratios, ratio, verdict

TARGET = 0.9
POSTBACK_QUERY = ("click_id={sub1}&source={sub2}&payout={payout_amount}"
                  "&currency={offer_currency}&txn={conversion_id}&ts={timestamp}"
                  "&ip={user_ip}&ua={user_agent}")
CLICKS = 200
DEADLINE_S = 600.0


class _NoWake:
    """Conversions are recorded with the engine stopped, so the timed part is sending only."""

    def wake(self) -> None:
        pass


def prepare(db_path: Path, sink: str, count: int, workers: int):  # -> Flask app
    """A simulator on a fresh SQLite file with `count` pending deliveries to the sink, made
    through the network's own domain functions (offer, global postback, clicks, conversions)."""
    from simulator import SimConfig, create_app
    from simulator.network.clicks import ClickInput, record_click
    from simulator.network.conversions import ConversionInput, record_conversion
    from simulator.network.postbacks import create_postback
    from simulator.services import EXTENSION_KEY

    app = create_app(SimConfig(db_path=str(db_path), start_workers=False, faker_seed=7,
                               delivery_workers=workers))
    svc = app.extensions[EXTENSION_KEY]
    create_postback(svc.store, svc.clock, {"url": f"{sink}/postback?{POSTBACK_QUERY}"})
    clicks = [record_click(svc.store, svc.clock, svc.faker,
                           ClickInput(offer_id=1, subs={"sub1": f"fbclid{n}", "sub2": "facebook"}))
              for n in range(CLICKS)]
    waker = _NoWake()
    for n in range(count):
        record_conversion(svc.store, svc.clock, waker,
                          ConversionInput(click=clicks[n % CLICKS]["id"]))
    return app


def fire_with_engine(app, count: int) -> float:
    """Start the engine and wait until every delivery is `delivered`; returns postbacks/s."""
    from simulator.app import shutdown
    from simulator.services import EXTENSION_KEY

    svc = app.extensions[EXTENSION_KEY]
    store = svc.store
    began = time.perf_counter()
    svc.delivery.start()
    try:
        done = wait_until(lambda: store.count("deliveries", status="delivered") >= count,
                          DEADLINE_S, 0.05)
        elapsed = time.perf_counter() - began
    finally:
        shutdown(app)
    if not done:
        raise RuntimeError(f"engine did not deliver {count} postbacks in {DEADLINE_S:g}s")
    return count / elapsed


def journal_check(db_path: Path, count: int) -> str:
    """Every delivery delivered once, with exactly one attempt row each."""
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        delivered = conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'").fetchone()[0]
        attempts = conn.execute(
            "SELECT COUNT(*) FROM attempts WHERE outcome = 'success'").fetchone()[0]
    if delivered != count or attempts != count:
        raise RuntimeError(f"expected {count} delivered with {count} attempts, "
                           f"got {delivered} delivered, {attempts} attempts")
    return f"{delivered} delivered, {attempts} attempts journaled"


def delivery_urls(db_path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        return [r[0] for r in conn.execute("SELECT url FROM deliveries ORDER BY id")]


def run_peers(urls: list[str], workers: int, peer: Series | None,
              others: dict[str, Series]) -> None:
    """The aiohttp peer (unless only our side runs) and any extra client loops, same URLs."""
    if peer is not None:
        peer.add(client_loops.rate(client_loops.aiohttp_loop, urls, workers))
    for name, series in others.items():
        series.add(client_loops.rate(client_loops.LOOPS[name], urls, workers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 postbacks, 3 rounds")
    parser.add_argument("--count", type=int, default=None, help="postbacks per round (20,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None,
                        help="delivery workers and peer concurrency (default: SimConfig's)")
    parser.add_argument("--clients", action="store_true",
                        help="also measure bare urllib3/http.client/requests thread loops")
    parser.add_argument("--side", choices=("both", "ours", "peer"), default="both",
                        help="run one side only (e.g. under a profiler)")
    args = parser.parse_args(argv)
    from simulator import SimConfig

    count = args.count or (2_000 if args.quick else 20_000)
    workers = args.workers or SimConfig().delivery_workers
    stop_on_sigterm()
    print(describe("bench_firing: delivery engine vs bare aiohttp, same nginx sink",
                   tools=("nginx",),
                   extra={"load": f"{count:,} postbacks per round, {args.rounds} rounds, "
                                  f"{workers} delivery workers = aiohttp concurrency"}))
    ours = Series("delivery engine (SimConfig defaults, every attempt journaled)", "postbacks/s")
    others = {name: Series(f"bare {name}", "postbacks/s") for name in client_loops.LOOPS
              if args.clients and not name.startswith("aiohttp")}
    peer = Series("bare aiohttp loop", "postbacks/s")
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-firing-")))
        sink = stack.enter_context(nginx_sink(root))
        url = sink_url(sink)
        for n in range(args.rounds):
            db_path = root / f"sim-{n}.db"
            began = time.perf_counter()
            app = prepare(db_path, url, count, workers)
            setup = time.perf_counter() - began
            urls = delivery_urls(db_path)

            # Alternate who goes first, so neither side always runs just after the setup.
            if n % 2:
                run_peers(urls, workers, peer if args.side != "ours" else None, others)
            if args.side in ("both", "ours"):
                ours.add(fire_with_engine(app, count))
                check = journal_check(db_path, count)
            else:
                from simulator.app import shutdown

                shutdown(app)
                check = "engine not run"
            if not n % 2:
                run_peers(urls, workers, peer if args.side != "ours" else None, others)
            print(f"round {n + 1}: setup {setup:.1f}s; "
                  f"aiohttp {fmt(peer.values[-1]) if peer.values else '-'}/s, "
                  f"engine {fmt(ours.values[-1]) if ours.values else '-'}/s; {check}",
                  flush=True)
    print()
    print(ours.describe())
    print(peer.describe())
    for series in others.values():
        print(series.describe())
    value = ratio(ours, peer)
    print(paired_ratios(ours, peer).describe())
    print(f"RATIO engine / aiohttp = {fmt(value)}x (target >= {TARGET}x): "
          f"{verdict(value, TARGET)}")
    return 0


if __name__ == "__main__":
    run_benchmark(main)
