"""Simulator settings: one frozen object handed to `create_app`, so nothing reads globals."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

# Real networks retry over hours; these are the waits (seconds) before attempts 2, 3, ...
PRODUCTION_RETRY_SCHEDULE: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0, 7200.0)
# The same shape compressed for tests and scenario runs, so a retry never costs a sleep.
FAST_RETRY_SCHEDULE: tuple[float, ...] = (0.2, 0.4, 0.8)


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulator can be told; defaults run with zero configuration."""

    db_path: str = "postback-sim.db"
    # Postback delivery
    delivery_timeout: float = 10.0
    retry_schedule: tuple[float, ...] = PRODUCTION_RETRY_SCHEDULE
    delivery_workers: int = 8
    start_workers: bool = True
    # With start_workers: whether this process runs the delivery engine (serve --workers N runs
    # it in one worker; the others only answer requests and diagnose journal entries).
    delivery_engine: bool = True
    response_body_limit: int = 2048
    # Network defaults
    default_country: str = "US"
    seed_demo_offer: bool = True
    faker_seed: int | None = None
    max_request_bytes: int = 16 * 1024 * 1024
    # Platform windows (days); see platform-rules.md sections 2-4
    meta_max_event_age_days: float = 7.0
    # Meta's default attribution is 7-day click; 28 days was its longest click window: the
    # longer one, so a late but genuine conversion still matches [open: chosen].
    meta_click_window_days: float = 28.0
    tiktok_click_window_days: float = 30.0
    google_click_window_days: float = 90.0
    google_check_too_recent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None) -> SimConfig:
        """Build from a plain dict (tests, CLI), refusing keys we do not know."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown simulator setting(s): {', '.join(unknown)}")
        if "retry_schedule" in values:
            values["retry_schedule"] = tuple(float(v) for v in values["retry_schedule"])
        return cls(**values)

    def with_(self, **changes: Any) -> SimConfig:
        """A copy with some settings changed."""
        return replace(self, **changes)


def testing_config(**changes: Any) -> SimConfig:
    """In-memory, fast retries, short timeout: what tests and scenario runs want."""
    base = SimConfig(
        db_path=":memory:",
        delivery_timeout=2.0,
        retry_schedule=FAST_RETRY_SCHEDULE,
        faker_seed=1234,
    )
    return replace(base, **changes)


testing_config.__test__ = False  # a factory, not a test, when tests import it by name
