"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(label: str, values_ms: Sequence[float]) -> str:
    """One table row: label, n, p50, p95, max (milliseconds)."""
    return (
        f"| {label} | {len(values_ms)} | {percentile(values_ms, 50):.1f} | "
        f"{percentile(values_ms, 95):.1f} | {max(values_ms):.1f} |"
        if values_ms
        else f"| {label} | 0 | - | - | - |"
    )


def header() -> str:
    return "| measure | n | p50 ms | p95 ms | max ms |\n| --- | --- | --- | --- | --- |"


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
