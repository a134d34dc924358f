"""`--fault meta:status=503,rate=0.05`: faults under load, through the simulator's own fault
injection (`POST /api/faults`), which fails the next N requests to a platform.

The injection counts requests, not a rate, so `FaultPump` keeps the armed total at `rate` times
the conversions fired so far for the platform: about that share of its requests then fail.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.profile import PLATFORMS

SYNTAX = "PLATFORM:status=503[,retry_after=S]|throttle|delay=S|reset,rate=0.05"


class FaultSyntaxError(ValueError):
    """A --fault value that cannot be used; str() names the value and the problem."""


@dataclass(frozen=True)
class FaultSpec:
    """One kind of failure, armed for `rate` of a platform's conversions."""

    platform: str
    kind: str  # status | throttle | delay | reset (simulator.platforms.faults.KINDS)
    rate: float
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None

    def settings(self) -> dict[str, Any]:
        """The fields `SimClient.arm_fault` takes besides platform, kind and count."""
        return {"status": self.status, "retry_after": self.retry_after, "delay": self.delay}

    def describe(self) -> str:
        what = {"status": f"HTTP {self.status}", "throttle": "rate limit",
                "delay": f"delay {self.delay or 0:g}s", "reset": "connection reset"}[self.kind]
        if self.retry_after is not None:
            what += f" Retry-After {self.retry_after:g}"
        return f"{self.platform}: {what} on {self.rate:.1%} of conversions"


def parse_fault(text: str) -> FaultSpec:
    """Read `meta:status=503,rate=0.05` (see SYNTAX); FaultSyntaxError says what is wrong."""
    platform, _, rest = text.partition(":")
    platform = platform.strip()
    if platform not in PLATFORMS:
        raise FaultSyntaxError(f"--fault {text}: platform must be one of {', '.join(PLATFORMS)}")
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        values[key.strip()] = value.strip() if sep else ""
    kinds = [k for k in ("status", "throttle", "delay", "reset") if k in values]
    if len(kinds) != 1:
        raise FaultSyntaxError(f"--fault {text}: give exactly one of status=, throttle, "
                               f"delay=, reset ({SYNTAX})")
    unknown = set(values) - {"status", "throttle", "delay", "reset", "retry_after", "rate"}
    if unknown:
        raise FaultSyntaxError(f"--fault {text}: unknown setting {sorted(unknown)[0]!r} "
                               f"({SYNTAX})")
    try:
        rate = float(values.get("rate", ""))
        status = int(values["status"]) if kinds[0] == "status" else None
        delay = float(values["delay"]) if kinds[0] == "delay" else None
        retry_after = float(values["retry_after"]) if "retry_after" in values else None
    except ValueError:
        raise FaultSyntaxError(f"--fault {text}: rate, status, delay and retry_after are "
                               f"numbers; rate is required ({SYNTAX})") from None
    if not 0 < rate <= 1:
        raise FaultSyntaxError(f"--fault {text}: rate must be above 0 and at most 1")
    if status is not None and not 400 <= status <= 599:
        raise FaultSyntaxError(f"--fault {text}: status must be 400-599")
    return FaultSpec(platform, kinds[0], rate, status, retry_after, delay)


class Arming(Protocol):
    def arm_fault(self, platform: str, kind: str, **settings: Any) -> dict[str, Any]: ...


@dataclass
class FaultPump:
    """Arms each spec's faults in step with the conversions fired for its platform."""

    specs: list[FaultSpec]
    fired: Counter[str] = field(default_factory=Counter)
    armed: Counter[int] = field(default_factory=Counter)  # spec index -> faults armed so far

    def observe(self, platform: str) -> None:
        """One conversion was fired for `platform`."""
        self.fired[platform] += 1

    def pump(self, client: Arming) -> int:
        """Arm what the conversions fired since the last call ask for; returns how many."""
        total = 0
        for index, spec in enumerate(self.specs):
            due = math.floor(spec.rate * self.fired[spec.platform]) - self.armed[index]
            if due > 0:
                client.arm_fault(spec.platform, spec.kind, count=due, **spec.settings())
                self.armed[index] += due
                total += due
        return total
