"""Running a receiver program (reference or faulty) as a subprocess pointed at a simulator.

Receivers are standalone programs configured by environment variables (ARCHITECTURE.md
"Receivers"); with RECEIVER_PORT=0 they print `listening on http://HOST:PORT` once bound.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

from conformance.errors import ConformanceError
from conformance.profile import Profile
from conformance.sub_layout import DEFAULT, SubLayout, layout_for
from simulator import personas

LISTENING = re.compile(r"listening on (https?://\S+)")
START_TIMEOUT_S = 15.0
POSTBACK_QUERY = (
    "click_id={sub1}&source={sub2}&payout={payout_amount}&currency={offer_currency}"
    "&txn={conversion_id}&ts={timestamp}&ip={user_ip}&ua={user_agent}&eid={sub3}"
)


def postback_query(layout: SubLayout = DEFAULT) -> str:
    """The bundled receivers' query (POSTBACK_QUERY) for the slots of `layout`."""
    event_id = f"&eid={{{layout.event_id_sub}}}" if layout.event_id_sub else ""
    return (f"{layout.click_id_query}&source={{{layout.source_sub}}}"
            "&payout={payout_amount}&currency={offer_currency}&txn={conversion_id}"
            f"&ts={{timestamp}}&ip={{user_ip}}&ua={{user_agent}}{event_id}")


class ReceiverStartError(ConformanceError, RuntimeError):
    """The receiver did not come up; str() is one line with its last output."""


def receiver_env(sim_url: str, profile_platforms: dict[str, dict[str, str]] | None = None,
                 ) -> dict[str, str]:
    """Environment variables pointing a receiver's platform base URLs at the simulator."""
    ids = profile_platforms or default_platforms()
    env = {
        "RECEIVER_HOST": "127.0.0.1",
        "RECEIVER_PORT": "0",
        "META_BASE_URL": f"{sim_url}/meta",
        "TIKTOK_BASE_URL": f"{sim_url}/tiktok",
        "GOOGLE_ADS_BASE_URL": f"{sim_url}/google-ads",
        "DATAMANAGER_BASE_URL": f"{sim_url}/datamanager",
    }
    names = {
        ("meta", "pixel_id"): "META_PIXEL_ID",
        ("tiktok", "pixel_code"): "TIKTOK_PIXEL_CODE",
        ("google_ads", "customer_id"): "GOOGLE_ADS_CUSTOMER_ID",
        ("google_ads", "conversion_action_id"): "GOOGLE_ADS_CONVERSION_ACTION_ID",
        ("datamanager", "account_id"): "DATAMANAGER_ACCOUNT_ID",
        ("datamanager", "destination_id"): "DATAMANAGER_DESTINATION_ID",
    }
    for (platform, key), var in names.items():
        if key in ids.get(platform, {}):
            env[var] = ids[platform][key]
    return env


def default_platforms() -> dict[str, dict[str, str]]:
    """The ids the bundled receivers and sample profiles use."""
    return {
        "meta": {"pixel_id": "1234567890"},
        "tiktok": {"pixel_code": "CTESTPIXEL123"},
        "google_ads": {"customer_id": "1234567890", "conversion_action_id": "987654321"},
        "datamanager": {"account_id": "1234567890", "destination_id": "987654321"},
    }


def profile_for(receiver_url: str, platforms: dict[str, dict[str, str]] | None = None,
                settle_seconds: float = 0.5, network: str | None = None) -> Profile:
    """The profile matching a bundled receiver at `receiver_url`, postbacks sent by `network`
    (default: the default persona): click ID in sub1, source in sub2, pixel event ID in sub3, as
    ARCHITECTURE.md's receiver contract reads them, unless the network's Sub ID limits call for
    another layout (conformance.sub_layout)."""
    from conformance.profile import ProfileError, profile_from_mapping

    try:
        persona = personas.get(network)
    except personas.PersonaError as exc:
        raise ProfileError(f"--network: {exc}") from None
    layout = layout_for(persona)
    data = {
        "postback_url": f"{receiver_url.rstrip('/')}/postback?{postback_query(layout)}",
        "click_id_sub": layout.click_id_sub,
        "source_sub": layout.source_sub,
        "platforms": platforms or default_platforms(),
        "settle_seconds": settle_seconds,
        "network": persona.name,
    }
    if layout.event_id_sub:
        data["event_id_sub"] = layout.event_id_sub
    if layout.click_id_overflow:
        data["click_id_overflow"] = list(layout.click_id_overflow)
    return profile_from_mapping(data, source="demo profile")


def terminate(process: subprocess.Popen[str]) -> None:
    """Ask `process` to end, and kill it if it has not within a grace period."""
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# How each kind of receiver program is started, by file suffix; Python is the default.
LAUNCHERS = {".js": ["node"], ".java": ["java"]}  # java 11+ runs a one-file source program


def command_for(program: Path) -> list[str]:
    """The command line that runs a receiver program: `node x.js`, `java X.java`, `python x.py`."""
    launcher = LAUNCHERS.get(program.suffix, [sys.executable, "-u"])
    return [*launcher, str(program)]


class ReceiverProcess:
    """A receiver subprocess; `start()` returns its URL once it says it is listening."""

    def __init__(self, program: str | Path, env: dict[str, str],
                 start_timeout: float = START_TIMEOUT_S) -> None:
        self.program = Path(program)
        self.env = env
        self.start_timeout = start_timeout
        self.url: str | None = None
        self.output: deque[str] = deque(maxlen=50)
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    def start(self) -> str:
        """Launch and wait (bounded) for `listening on URL`; ReceiverStartError otherwise."""
        self._process = subprocess.Popen(
            command_for(self.program),
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, name=f"receiver-{self.program.stem}",
                                        daemon=True)
        self._reader.start()
        if not self._ready.wait(self.start_timeout) or self.url is None:
            self.stop()
            last = " | ".join(list(self.output)[-3:]) or "no output"
            raise ReceiverStartError(
                f"receiver {self.program.name} did not report `listening on` within "
                f"{self.start_timeout:g}s: {last}")
        return self.url

    def _read(self) -> None:
        stdout = self._process.stdout if self._process else None
        for line in stdout or ():
            line = line.rstrip("\n")
            self.output.append(line)
            match = LISTENING.search(line)
            if match and self.url is None:
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()  # the process ended: stop waiting

    def stop(self) -> None:
        """Terminate the process (kill after a grace period)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            terminate(process)
        if self._reader is not None:
            self._reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> ReceiverProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
