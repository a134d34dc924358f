"""End to end: N conversions through `postback-sim serve` -> reference receiver -> the mock
Meta endpoint; none lost, none doubled; throughput and p50/p99 latency from the conversion to
its Meta journal entry. The peer, in the same run: a bare aiohttp loop sending the same kind of
postbacks straight to the receiver (no network, no delivery engine), so the ratio says what
the simulator's network side costs on top of receiver + mock.

Saturated (the throughput figure, target >= 0.8x the direct path): conversions are created as
fast as 8 API clients can (the `offered` rate), so when that outruns the chain, latency is mostly
time queued as pending deliveries. The peer is closed-loop (8 postbacks in flight), so its
latency is the chain's service time.

Fixed rate (`--rate`, 200/s by default; targets p50 < 50 ms, p99 < 250 ms): each round also
offers conversions open loop at that rate to a fresh simulator (`e2e_rate.py`), latency from each
conversion's *scheduled* time to its Meta journal entry, split into legs with the database's own
timestamps (API, engine pickup, receiver -> Meta journal, answer back). The same rate is then
fired straight at the receiver (fresh again), to tell the simulator's share from the chain's.

    python benchmarks/bench_end_to_end.py [--quick] [--count N] [--rounds R]
        [--rate R | --rate 0] [--rate-count N] [--rate-only]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_rate import offer, offer_direct, stages
from environment import describe
from processes import run_benchmark, stop_on_sigterm
from sim_processes import postback_sim_serve, reference_receiver
from stats import Series, fmt, paired_ratios, percentile, ratio, verdict

POSTBACK_QUERY = ("click_id={sub1}&source={sub2}&payout={payout_amount}"
                  "&currency={offer_currency}&txn={conversion_id}&ts={timestamp}"
                  "&ip={user_ip}&ua={user_agent}")
CLICKS = 200
CLIENT_THREADS = 8  # conversions posted at once through the API
PEER_CONCURRENCY = 8  # = the delivery engine's default workers
DEADLINE_S = 900.0
THROUGHPUT_TARGET = 0.8  # x the direct path (issue 13)
P50_TARGET_MS, P99_TARGET_MS = 50.0, 250.0  # at the fixed rate (issue 13)


@dataclass
class Outcome:
    rate: float  # conversions per second, first created to last journaled
    offered: float  # how fast they were created (ours) or sent (peer), per second
    latencies_ms: list[float]
    lost: int
    doubled: int


class Journal:
    """Reads the simulator's SQLite file directly (WAL allows a concurrent reader)."""

    def __init__(self, db: Path) -> None:
        self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)

    def last_id(self) -> int:
        return int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM journal").fetchone()[0])

    def meta_events_after(self, after_id: int) -> int:
        return int(self.conn.execute(
            "SELECT COUNT(*) FROM journal WHERE id > ? AND platform = 'meta' AND accepted = 1",
            (after_id,)).fetchone()[0])

    def event_times(self, after_id: int) -> dict[str, list[float]]:
        """event_id -> journal ts of every accepted Meta event carrying it, from the dedup index
        written with the entry itself (so this never waits for the analyser's diagnosis)."""
        out: dict[str, list[float]] = {}
        for event_id, ts in self.conn.execute(
                "SELECT event_id, ts FROM journal_events WHERE journal_id > ? "
                "AND platform = 'meta'", (after_id,)):
            out.setdefault(event_id, []).append(ts)
        return out

    def wait_for(self, after_id: int, count: int, timeout: float) -> float:
        """Block until `count` Meta requests past `after_id` are journaled; returns when."""
        deadline = time.monotonic() + timeout
        while self.meta_events_after(after_id) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {self.meta_events_after(after_id)} of {count} "
                                   f"Meta events journaled after {timeout:g}s")
            time.sleep(0.1)
        return time.time()

    def close(self) -> None:
        self.conn.close()


def judge(sent: dict[str, float], seen: dict[str, list[float]]) -> Outcome:
    lost = sum(1 for key in sent if key not in seen)
    doubled = sum(1 for key in sent if len(seen.get(key, ())) > 1)
    latencies = [(min(seen[key]) - at) * 1000 for key, at in sent.items() if key in seen]
    first = min(sent.values())
    last = max(min(v) for key, v in seen.items() if key in sent) if latencies else first
    rate = len(latencies) / (last - first) if last > first else float("nan")
    span = max(sent.values()) - first
    offered = len(sent) / span if span > 0 else float("nan")
    return Outcome(rate, offered, latencies, lost, doubled)


def setup(api: str, receiver: str) -> list[dict]:
    """The receiver's postback as the global template, Meta ad clicks and tracking clicks."""
    with requests.Session() as http:
        http.post(f"{api}/api/postbacks",
                  json={"url": f"{receiver}/postback?{POSTBACK_QUERY}"},
                  timeout=30).raise_for_status()
        clicks = []
        for _ in range(CLICKS):
            ad = http.post(f"{api}/api/ad-clicks", json={"platform": "meta"}, timeout=30)
            ad.raise_for_status()
            click = http.post(f"{api}/api/clicks", json={
                "offer_id": 1, "sub1": ad.json()["click_id"], "sub2": "facebook"}, timeout=30)
            click.raise_for_status()
            clicks.append(click.json())
        return clicks


def run_ours(api: str, journal: Journal, clicks: list[dict], count: int) -> Outcome:
    """Post `count` conversions through the API and wait for their Meta journal entries."""
    start_id = journal.last_id()
    sessions: dict[int, requests.Session] = {}

    def convert(n: int) -> tuple[str, float]:
        import threading

        http = sessions.setdefault(threading.get_ident(), requests.Session())
        resp = http.post(f"{api}/api/conversions",
                         json={"click": clicks[n % len(clicks)]["unique_click_id"]}, timeout=60)
        resp.raise_for_status()
        body = resp.json()
        return body["conversion_id"], float(body["ts"])

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        sent = dict(pool.map(convert, range(count)))
    for http in sessions.values():
        http.close()
    journal.wait_for(start_id, count, DEADLINE_S)
    time.sleep(1.0)  # a late duplicate would land now
    return judge(sent, journal.event_times(start_id))


async def _fire(urls: dict[str, str], concurrency: int) -> dict[str, float]:
    import aiohttp

    sent: dict[str, float] = {}
    items = iter(urls.items())
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def worker() -> None:
            for txn, url in items:
                sent[txn] = time.time()
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"receiver answered {resp.status} for {url}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


def run_rate(api: str, journal: Journal, clicks: list[dict], count: int, rate: float,
             db: Path) -> tuple[Outcome, dict[str, list[float]]]:
    """`count` conversions offered open loop at `rate`/s; latency from each one's scheduled
    time; also the legs each conversion's time went to (`e2e_rate.Stages`)."""
    start_id = journal.last_id()
    scheduled = offer(api, clicks, count, rate)
    journal.wait_for(start_id, count, DEADLINE_S)
    time.sleep(1.0)  # a late duplicate would land now
    seen = journal.event_times(start_id)
    return judge(scheduled, seen), vars(stages(db, scheduled, seen))


def postback_urls(receiver: str, clicks: list[dict], count: int) -> dict[str, str]:
    """txn -> the postback URL the network would send for a new conversion on each click."""
    urls = {}
    for n in range(count):
        click = clicks[n % len(clicks)]
        txn = uuid.uuid4().hex
        urls[txn] = f"{receiver}/postback?" + urlencode({
            "click_id": click["sub1"], "source": "facebook", "payout": "10.00",
            "currency": "USD", "txn": txn, "ts": str(int(time.time())),
            "ip": click["ip"], "ua": click["user_agent"]})
    return urls


def run_peer(receiver: str, journal: Journal, clicks: list[dict], count: int,
             rate: float = 0.0) -> Outcome:
    """The same postbacks the network would send, fired straight at the receiver: 8 in
    flight, or open loop at `rate`/s (latency then from each one's scheduled time)."""
    start_id = journal.last_id()
    urls = postback_urls(receiver, clicks, count)
    sent = (offer_direct(list(urls.items()), rate) if rate
            else asyncio.run(_fire(urls, PEER_CONCURRENCY)))
    journal.wait_for(start_id, count, DEADLINE_S)
    time.sleep(1.0)
    return judge(sent, journal.event_times(start_id))


@dataclass
class AtRate:
    """One path's figures at the fixed rate, a value per round."""

    label: str
    achieved: Series
    p50: Series
    p99: Series
    top: Series

    @classmethod
    def named(cls, label: str) -> AtRate:
        return cls(label, *(Series(f"{label}: {name}", unit) for name, unit in (
            ("achieved", "per s"), ("p50 latency", "ms"), ("p99 latency", "ms"),
            ("max latency", "ms"))))

    def add(self, outcome: Outcome) -> str:
        """Record a round; returns its line."""
        lat = outcome.latencies_ms
        for series, value in ((self.achieved, outcome.rate), (self.p50, percentile(lat, 50)),
                              (self.p99, percentile(lat, 99)),
                              (self.top, max(lat, default=float("nan")))):
            series.add(value)
        return (f"{self.label}: {fmt(outcome.rate)}/s (offered {fmt(outcome.offered)}/s), p50 "
                f"{fmt(self.p50.values[-1])} ms, p99 {fmt(self.p99.values[-1])} ms, max "
                f"{fmt(self.top.values[-1])} ms, {outcome.lost} lost, {outcome.doubled} doubled")


def legs_text(legs: dict[str, list[float]]) -> str:
    return ", ".join(f"{leg} {fmt(percentile(v, 50))} / {fmt(percentile(v, 99))} / "
                     f"{fmt(max(v, default=float('nan')))}" for leg, v in legs.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 conversions, 3 rounds")
    parser.add_argument("--count", type=int, default=None, help="conversions per round (10,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0,
                        help="fixed offered rate, conversions/s, run each round (0: none)")
    parser.add_argument("--rate-count", type=int, default=None,
                        help="conversions per fixed-rate run (default: --count)")
    parser.add_argument("--rate-only", action="store_true",
                        help="only the fixed-rate runs (no saturated pair)")
    args = parser.parse_args(argv)
    count = args.count or (1_000 if args.quick else 10_000)
    rate_count = args.rate_count or count
    stop_on_sigterm()
    fixed = (f"; fixed rate: {rate_count:,} conversions offered open loop at {args.rate:g}/s, "
             f"then the same rate straight at the receiver" if args.rate > 0 else "")
    print(describe("bench_end_to_end: simulator -> reference receiver -> mock Meta",
                   extra={"load": f"{count:,} conversions per round, {args.rounds} rounds; "
                                  f"fresh postback-sim serve (gunicorn, SQLite file) and "
                                  f"receiver per side and round, "
                                  f"{CLIENT_THREADS} API client threads, reference receiver "
                                  f"subprocess; peer: aiohttp x{PEER_CONCURRENCY} -> receiver"
                                  f"{fixed}"}))
    ours = Series("simulator -> receiver -> Meta mock", "conversions/s")
    peer = Series("aiohttp -> receiver -> Meta mock", "postbacks/s")
    p50s, p99s = Series("ours p50 latency", "ms"), Series("ours p99 latency", "ms")
    peer_p50s, peer_p99s = Series("peer p50 latency", "ms"), Series("peer p99 latency", "ms")
    at_rate = {"rate": AtRate.named(f"fixed {args.rate:g}/s, simulator path"),
               "rate-peer": AtRate.named(f"fixed {args.rate:g}/s, direct path")}
    legs: dict[str, list[float]] = {}
    problems = []
    pair = [] if args.rate_only else ["ours", "peer"]
    with ExitStack() as outer:
        root = Path(outer.enter_context(tempfile.TemporaryDirectory(prefix="bench-e2e-")))
        for r in range(args.rounds):
            sides = (pair if r % 2 == 0 else pair[::-1]) + (
                ["rate", "rate-peer"] if args.rate > 0 else [])
            for side in sides:
                # A fresh simulator and receiver per side and round: both start from an empty
                # journal, as a user's load test does.
                with ExitStack() as stack:
                    folder = root / f"{side}-{r + 1}"
                    folder.mkdir()
                    sim = stack.enter_context(postback_sim_serve(folder))
                    api = f"http://127.0.0.1:{sim.port}"
                    receiver_proc = stack.enter_context(reference_receiver(folder, api))
                    receiver = f"http://127.0.0.1:{receiver_proc.port}"
                    clicks = setup(api, receiver)
                    journal = Journal(folder / "sim.db")
                    stack.callback(journal.close)
                    round_legs: dict[str, list[float]] = {}
                    if side == "ours":
                        outcome = run_ours(api, journal, clicks, count)
                    elif side == "peer":
                        outcome = run_peer(receiver, journal, clicks, count)
                    elif side == "rate":
                        outcome, round_legs = run_rate(api, journal, clicks, rate_count,
                                                       args.rate, folder / "sim.db")
                    else:
                        outcome = run_peer(receiver, journal, clicks, rate_count, args.rate)
                if outcome.lost or outcome.doubled:
                    problems.append(f"round {r + 1} {side}: {outcome.lost} lost, "
                                    f"{outcome.doubled} doubled")
                if side in at_rate:
                    for leg, values in round_legs.items():
                        legs.setdefault(leg, []).extend(values)
                    line = at_rate[side].add(outcome)
                    if round_legs:
                        line += "; legs p50 / p99 / max ms: " + legs_text(round_legs)
                    print(f"round {r + 1} {line}", flush=True)
                    continue
                series, s50, s99 = ((ours, p50s, p99s) if side == "ours"
                                    else (peer, peer_p50s, peer_p99s))
                series.add(outcome.rate)
                s50.add(percentile(outcome.latencies_ms, 50))
                s99.add(percentile(outcome.latencies_ms, 99))
                print(f"round {r + 1} {side}: {fmt(outcome.rate)}/s (offered "
                      f"{fmt(outcome.offered)}/s), p50 "
                      f"{fmt(s50.values[-1])} ms, p99 {fmt(s99.values[-1])} ms, "
                      f"{outcome.lost} lost, {outcome.doubled} doubled", flush=True)
    print()
    if pair:
        for series in (ours, p50s, p99s, peer, peer_p50s, peer_p99s):
            print(series.describe())
        print(paired_ratios(ours, peer).describe())
        value = ratio(ours, peer)
        print(f"RATIO simulator path / direct path = {fmt(value)}x "
              f"(target >= {THROUGHPUT_TARGET}x): {verdict(value, THROUGHPUT_TARGET)}")
    if args.rate > 0:
        for figures in at_rate.values():
            for series in (figures.achieved, figures.p50, figures.p99, figures.top):
                print(series.describe())
        print(f"simulator path legs, all rounds, p50 / p99 / max ms: {legs_text(legs)}")
        sim = at_rate["rate"]
        for name, series, target in (("p50", sim.p50, P50_TARGET_MS),
                                     ("p99", sim.p99, P99_TARGET_MS)):
            print(f"fixed {args.rate:g}/s: simulator path {name} latency {fmt(series.median)} ms "
                  f"(target < {target:g} ms): "
                  f"{verdict(series.median, target, higher_is_better=False)}")
    verdict_text = "MET" if not problems else "MISSED: " + "; ".join(problems)
    print(f"none lost, none doubled ({args.rounds} rounds): {verdict_text}")
    return 0 if not problems else 1


if __name__ == "__main__":
    run_benchmark(main)
