"""Turn a measured series into labelled time spans: levels with hysteresis, runs, short-run merging.

Used by the motion measure (per frame pair) and the audio measure (per window). A series is a
list of intervals ``[start_s, end_s)`` with one value each; the helpers here know nothing about
what the value means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Run:
    """Consecutive intervals ``first..last`` (inclusive indices) sharing one ``level``."""

    level: int
    first: int
    last: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def plain_levels(values: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Level of each value without hysteresis: how many ``thresholds`` it reaches."""
    return np.searchsorted(np.asarray(thresholds), values, side="right").astype(int)


def hysteresis_levels(
    values: np.ndarray, thresholds: Sequence[float], margin: float = 0.15
) -> np.ndarray:
    """Level of each value, changing only when a threshold is passed by ``margin`` (a fraction).

    Going up needs ``value >= t * (1 + margin)``, going down ``value < t * (1 - margin)``, so a
    series hovering around a threshold keeps one level instead of flickering between two.
    """
    out = np.zeros(len(values), dtype=int)
    if len(values) == 0:
        return out
    up = [t * (1 + margin) for t in thresholds]
    down = [t * (1 - margin) for t in thresholds]
    state = int(plain_levels(values[:1], thresholds)[0])
    for i, v in enumerate(values):
        level_up = sum(v >= t for t in up)
        level_down = sum(v >= t for t in down)
        if level_up > state:
            state = level_up
        elif level_down < state:
            state = level_down
        out[i] = state
    return out


def median3(values: np.ndarray) -> np.ndarray:
    """A 3-tap running median (ends kept), which removes single-sample spikes."""
    if len(values) < 3:
        return values.copy()
    stacked = np.stack([values[:-2], values[1:-1], values[2:]])
    out = values.copy()
    out[1:-1] = np.median(stacked, axis=0)
    return out


def fill_gaps(values: np.ndarray) -> np.ndarray:
    """Replace NaN by the nearest earlier value (or the first later one at the start)."""
    out = values.astype(float).copy()
    valid = ~np.isnan(out)
    if not valid.any():
        return out
    idx = np.where(valid, np.arange(len(out)), -1)
    idx = np.maximum.accumulate(idx)
    first = int(np.argmax(valid))
    idx[idx < 0] = first
    return out[idx]


def runs(levels: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray) -> list[Run]:
    """Group consecutive equal levels into runs with their time bounds."""
    out: list[Run] = []
    i = 0
    n = len(levels)
    while i < n:
        j = i
        while j + 1 < n and levels[j + 1] == levels[i]:
            j += 1
        out.append(Run(int(levels[i]), i, j, float(starts_s[i]), float(ends_s[j])))
        i = j + 1
    return out


def merge_short_runs(found: list[Run], min_s: float) -> list[Run]:
    """Fold runs shorter than ``min_s`` into a neighbour, shortest first.

    The neighbour with the nearer level wins (the longer one on a tie), so a brief dip from
    "high motion" to "still" inside a moving span becomes part of the moving span.
    """
    out = list(found)
    while len(out) > 1:
        i = min(range(len(out)), key=lambda k: out[k].duration_s)
        if out[i].duration_s >= min_s:
            break
        neighbours = [k for k in (i - 1, i + 1) if 0 <= k < len(out)]
        k = min(
            neighbours,
            key=lambda k: (abs(out[k].level - out[i].level), -out[k].duration_s),
        )
        lo, hi = min(i, k), max(i, k)
        merged = Run(out[k].level, out[lo].first, out[hi].last, out[lo].start_s, out[hi].end_s)
        out[lo : hi + 1] = [merged]
        # Joining may leave two equal-level runs side by side; fuse them.
        fused: list[Run] = []
        for r in out:
            if fused and fused[-1].level == r.level:
                p = fused[-1]
                fused[-1] = Run(p.level, p.first, r.last, p.start_s, r.end_s)
            else:
                fused.append(r)
        out = fused
    return out


def bridge(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Set False stretches of at most ``max_gap`` samples between True ones to True."""
    out = mask.copy()
    n = len(mask)
    i = 0
    while i < n:
        if not out[i]:
            j = i
            while j < n and not mask[j]:
                j += 1
            if i > 0 and j < n and j - i <= max_gap:
                out[i:j] = True
            i = j
        else:
            i += 1
    return out


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive index ranges where ``mask`` is True."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(mask)
    while i < n:
        if mask[i]:
            j = i
            while j + 1 < n and mask[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out
