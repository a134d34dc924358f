"""Bare sending loops, one per HTTP client and concurrency model, each sending a list of GET
URLs with a fixed number in flight: the ceilings the delivery engine is compared against, and
the evidence for choosing its hot path (`bench_firing.py --clients`)."""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


class SendError(RuntimeError):
    """The sink answered something other than 200."""


async def _aiohttp(urls: list[str], concurrency: int) -> None:
    import aiohttp

    position = iter(urls)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def worker() -> None:
            for url in position:
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise SendError(f"aiohttp: {resp.status} from {url}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def aiohttp_loop(urls: list[str], concurrency: int) -> None:
    """One asyncio loop, one pooled session, `concurrency` requests in flight."""
    asyncio.run(_aiohttp(urls, concurrency))


def _threaded(urls: list[str], concurrency: int, make_sender: Callable[[], Callable[[str], int]],
              ) -> None:
    position = iter(urls)
    lock = threading.Lock()

    def worker() -> None:
        send = make_sender()
        while True:
            with lock:
                url = next(position, None)
            if url is None:
                return
            status = send(url)
            if status != 200:
                raise SendError(f"{status} from {url}")

    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()


def urllib3_threads(urls: list[str], concurrency: int) -> None:
    """`concurrency` threads sharing one urllib3 PoolManager."""
    import urllib3

    pool = urllib3.PoolManager(maxsize=concurrency, retries=False)
    _threaded(urls, concurrency,
              lambda: lambda url: pool.request("GET", url, redirect=False).status)


def requests_threads(urls: list[str], concurrency: int) -> None:
    """`concurrency` threads, one requests.Session each."""
    import requests

    def make() -> Callable[[str], int]:
        session = requests.Session()
        return lambda url: session.get(url, timeout=10, allow_redirects=False).status_code

    _threaded(urls, concurrency, make)


def http_client_threads(urls: list[str], concurrency: int) -> None:
    """`concurrency` threads, one keep-alive http.client connection each."""

    def make() -> Callable[[str], int]:
        parts = urlsplit(urls[0])
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)

        def send(url: str) -> int:
            target = urlsplit(url)
            conn.request("GET", f"{target.path}?{target.query}")
            resp = conn.getresponse()
            resp.read()
            return resp.status

        return send

    _threaded(urls, concurrency, make)


async def _simulator_client(urls: list[str], concurrency: int) -> None:
    from simulator.http_client import AiohttpClient

    position = iter(urls)
    client = AiohttpClient()

    async def worker() -> None:
        for url in position:
            result = await client.fetch("GET", url, timeout=10)
            if result.status != 200:
                raise SendError(f"AiohttpClient: {result.status or result.error} from {url}")

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.aclose()


def simulator_client_loop(urls: list[str], concurrency: int) -> None:
    """The delivery engine's own client (`AiohttpClient.fetch`) on one loop, without the
    engine: the ceiling of the engine's sends, so the rest of the gap is its bookkeeping."""
    asyncio.run(_simulator_client(urls, concurrency))


LOOPS: dict[str, Callable[[list[str], int], None]] = {
    "simulator AiohttpClient (asyncio, 1 thread)": simulator_client_loop,
    "aiohttp (asyncio, 1 thread)": aiohttp_loop,
    "urllib3 (threads, shared pool)": urllib3_threads,
    "http.client (threads, keep-alive)": http_client_threads,
    "requests (threads, session each)": requests_threads,
}


def rate(loop: Callable[[list[str], int], None], urls: list[str], concurrency: int) -> float:
    """Requests per second for one pass of `loop` over `urls`."""
    began = time.perf_counter()
    loop(urls, concurrency)
    return len(urls) / (time.perf_counter() - began)
