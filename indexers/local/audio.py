"""Audio level measures for the offline indexer: windowed RMS level, silence and loud sounds.

ffmpeg decodes, downmixes and resamples (``-ac 1``, ``aresample``); the level is computed here
as ``20 log10(rms)`` per 0.1 s window, the same dBFS convention as ffmpeg's ``astats``
``RMS_level``. Doing the arithmetic on raw samples instead of parsing ``astats``/``silencedetect``
text keeps the windows independent of the codec's audio frame size and the result exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from indexers.local.spans import bridge, true_runs

WINDOW_S = 0.1
FLOOR_DB = -120.0
"""Digital silence has no finite level; it is reported as this."""
SILENCE_MIN_S = 1.0
SILENCE_BRIDGE_DB = 15.0
LOUD_GROUP_GAP_S = 1.0
"""Loud sounds closer than this are one event (a series of beeps, claps or shots)."""
LOUD_MIN_DB = -25.0
"""A "loud" sound must also reach this absolute level, so hiss over digital silence is not one."""


def window_levels_db(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """RMS level in dBFS of each full ``WINDOW_S`` window (a short tail window is kept too)."""
    size = round(rate_hz * WINDOW_S)
    n = int(np.ceil(len(samples) / size)) if len(samples) else 0
    if n == 0:
        return np.zeros(0)
    padded = np.zeros(n * size, dtype=np.float64)
    padded[: len(samples)] = samples
    counts = np.full(n, size, dtype=float)
    counts[-1] = len(samples) - (n - 1) * size
    power = (padded.reshape(n, size) ** 2).sum(axis=1) / counts
    with np.errstate(divide="ignore"):
        levels = 10.0 * np.log10(power)
    out: np.ndarray = np.maximum(levels, FLOOR_DB)
    return out


@dataclass(frozen=True)
class LevelSpan:
    """A span of windows ``first..last`` with its time bounds and measured levels."""

    start_s: float
    end_s: float
    max_db: float
    mean_db: float
    agreement: float
    """Share of the span's windows that pass the span's own test (bridged gaps lower it)."""
    bursts: int = 1
    """How many separate loud runs were grouped into this span."""


def _span(
    levels: np.ndarray, mask: np.ndarray, first: int, last: int, t0: float, end_s: float
) -> LevelSpan:
    part = levels[first : last + 1]
    # Mean of power, not of decibels, so one loud window is not averaged away.
    mean_db = float(10 * np.log10(np.mean(10 ** (part / 10))))
    return LevelSpan(
        start_s=t0 + first * WINDOW_S,
        end_s=min(t0 + (last + 1) * WINDOW_S, end_s),
        max_db=float(part.max()),
        mean_db=max(mean_db, FLOOR_DB),
        agreement=float(mask[first : last + 1].mean()),
    )


def silence_spans(
    levels: np.ndarray, t0: float, end_s: float, threshold_db: float
) -> list[LevelSpan]:
    """Spans of at least ``SILENCE_MIN_S`` below ``threshold_db`` (gaps of 0.2 s bridged)."""
    quiet = levels < threshold_db
    # Bridge a lone window that is only a little above the threshold (a click, codec noise), but
    # never a real sound: a 0.1 s beep inside a pause must end the silence.
    bridged = bridge(quiet, max_gap=1) & (levels < threshold_db + SILENCE_BRIDGE_DB)
    spans = [_span(levels, quiet, a, b, t0, end_s) for a, b in true_runs(bridged)]
    return [s for s in spans if s.end_s - s.start_s >= SILENCE_MIN_S - 1e-6]


def loud_spans(
    levels: np.ndarray, t0: float, end_s: float, above_median_db: float
) -> tuple[list[LevelSpan], float]:
    """Spans ``above_median_db`` over the clip's median level (and over ``LOUD_MIN_DB``).

    Returns the spans and the median they were measured against.
    """
    if len(levels) == 0:
        return [], FLOOR_DB
    median = float(np.median(levels))
    loud = levels >= max(median + above_median_db, LOUD_MIN_DB)
    groups: list[list[tuple[int, int]]] = []
    for a, b in true_runs(loud):
        if groups and (a - groups[-1][-1][1] - 1) * WINDOW_S <= LOUD_GROUP_GAP_S:
            groups[-1].append((a, b))
        else:
            groups.append([(a, b)])
    spans = [
        replace(_span(levels, loud, g[0][0], g[-1][1], t0, end_s), bursts=len(g)) for g in groups
    ]
    return spans, median
