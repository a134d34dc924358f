"""The end-to-end benchmark's fixed-rate mode: conversions offered open loop at a set rate, and
where each one's time went.

Open loop: conversion n is due at start + n / rate and is posted then, whether or not earlier
ones were answered, so a slow chain shows as queueing instead of a slower offered rate. Latency
runs from that *scheduled* time (not the API call), so time a request waited for a connection or
for the API to answer is counted too (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp

# Past this many API calls in flight the simulator is not keeping up; later calls wait for a
# connection, and that wait counts in their latency (it runs from the scheduled time).
MAX_IN_FLIGHT = 64


Send = Callable[[aiohttp.ClientSession, int], Awaitable[str]]


async def _offer(count: int, rate: float, send: Send) -> dict[str, float]:
    scheduled: dict[str, float] = {}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT),
                                     timeout=timeout) as session:

        async def one(n: int, at: float) -> None:
            scheduled[await send(session, n)] = at

        loop = asyncio.get_running_loop()
        start = time.time() + 0.1
        tasks = []
        for n in range(count):
            at = start + n / rate
            await asyncio.sleep(max(0.0, at - time.time()))
            tasks.append(loop.create_task(one(n, at)))
        await asyncio.gather(*tasks)
    return scheduled


def offer(api: str, clicks: list[dict], count: int, rate: float) -> dict[str, float]:
    """Post `count` conversions at `rate` per second, open loop; conversion ID -> the epoch
    time it was scheduled for."""

    async def convert(session: aiohttp.ClientSession, n: int) -> str:
        body = {"click": clicks[n % len(clicks)]["unique_click_id"]}
        async with session.post(f"{api}/api/conversions", json=body) as resp:
            resp.raise_for_status()
            return str((await resp.json())["conversion_id"])

    return asyncio.run(_offer(count, rate, convert))


def offer_direct(urls: list[tuple[str, str]], rate: float) -> dict[str, float]:
    """GET each (key, postback URL) at `rate` per second, open loop; key -> scheduled time."""

    async def fire(session: aiohttp.ClientSession, n: int) -> str:
        key, url = urls[n]
        async with session.get(url) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"receiver answered {resp.status} for {url}")
        return key

    return asyncio.run(_offer(len(urls), rate, fire))


@dataclass
class Stages:
    """Per conversion, milliseconds spent in each leg (first attempt only)."""

    api: list[float]  # scheduled time -> the conversion's own timestamp (client + API)
    pickup: list[float]  # conversion timestamp -> the engine starts the first attempt
    forward: list[float]  # attempt start -> Meta journal entry (receiver + forward + mock)
    answer: list[float]  # Meta journal entry -> the receiver's answer reaches the engine


def stages(db: Path, scheduled: dict[str, float], journaled: dict[str, list[float]]) -> Stages:
    """Split each journaled conversion's latency with the timestamps the database keeps."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT c.conversion_id, c.ts, a.started_at, a.latency_ms FROM conversions c "
            "JOIN deliveries d ON d.conversion_id = c.id "
            "JOIN attempts a ON a.delivery_id = d.id AND a.number = 1").fetchall()
    finally:
        conn.close()
    out = Stages([], [], [], [])
    for conversion_id, created, started_at, latency_ms in rows:
        if conversion_id not in scheduled or conversion_id not in journaled:
            continue
        started = datetime.fromisoformat(started_at.replace("Z", "+00:00")).timestamp()
        entry = min(journaled[conversion_id])
        out.api.append((created - scheduled[conversion_id]) * 1000)
        out.pickup.append((started - created) * 1000)
        out.forward.append((entry - started) * 1000)
        out.answer.append(started * 1000 + (latency_ms or 0.0) - entry * 1000)
    return out
