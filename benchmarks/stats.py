"""Medians with their spread, and ratios between a figure and its peer's.

These machines are shared and noisy, so every figure is the median of several runs with its
min-max, and the headline is a ratio measured side by side in the same run.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field


@dataclass
class Series:
    """Repeated measurements of one figure (e.g. requests/s), in the order they were taken."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    def describe(self) -> str:
        """`name: median unit (min-max, n runs)`."""
        if not self.values:
            return f"{self.name}: no runs"
        return (f"{self.name}: {fmt(self.median)} {self.unit} "
                f"(min {fmt(min(self.values))} - max {fmt(max(self.values))}, "
                f"{len(self.values)} runs)")


def ratio(ours: Series, peer: Series) -> float:
    """The headline: the median of the per-round ratios when both sides ran every round (a
    slow spell on a shared machine then hits both sides of a pair), else median over median.
    NaN when either side has no runs or the peer is zero."""
    if not ours.values or not peer.values:
        return float("nan")
    paired = paired_ratios(ours, peer)
    if len(ours.values) == len(peer.values) == len(paired.values):
        return paired.median
    return ours.median / peer.median if peer.median else float("nan")


def paired_ratios(ours: Series, peer: Series) -> Series:
    """Per-round ratios (round i of ours over round i of the peer): noise that hits one round
    hits both sides, so their spread is tighter than the medians' ratio suggests."""
    out = Series(f"{ours.name} / {peer.name} per round", "x")
    for a, b in zip(ours.values, peer.values, strict=False):
        if b:
            out.add(a / b)
    return out


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0-100) of unsorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def fmt(value: float) -> str:
    """Three significant figures, thousands separated, for rates and times alike."""
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def verdict(value: float, target: float, *, higher_is_better: bool = True) -> str:
    """`MET` or `MISSED (by N%)` against a target."""
    if value != value:
        return "NOT MEASURED"
    met = value >= target if higher_is_better else value <= target
    if met:
        return "MET"
    miss = (target - value) / target if higher_is_better else (value - target) / target
    return f"MISSED (by {miss:.0%})"
