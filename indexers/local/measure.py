"""From decoded signal to per-clip measurements: shots, motion spans, audio spans, text sightings.

Each function takes arrays and clip bounds and returns plain dataclasses with absolute times;
:mod:`indexers.local.timeline` turns them into events. Nothing here guesses what is on screen.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from indexers.local import audio as audio_m
from indexers.local.spans import (
    fill_gaps,
    hysteresis_levels,
    median3,
    merge_short_runs,
    plain_levels,
    runs,
)
from indexers.local.visual import PictureStats, picture_stats
from videoidx.types import ClipSpec

MOTION_LABELS = ("still", "moving", "high motion")
MOTION_MIN_SPAN_S = 1.0
STATS_MAX_FRAMES = 12
"""Frames per shot used for brightness and colour; more add time, not accuracy."""


@dataclass(frozen=True)
class ShotMeasure:
    index: int
    start_s: float
    end_s: float
    starts_at_cut: bool
    picture: PictureStats | None
    audio_mean_db: float | None = None
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class MotionSpan:
    label: str
    start_s: float
    end_s: float
    mean_diff: float
    agreement: float


@dataclass(frozen=True)
class AudioMeasure:
    levels_db: np.ndarray
    median_db: float
    silences: list[audio_m.LevelSpan] = field(default_factory=list)
    louds: list[audio_m.LevelSpan] = field(default_factory=list)

    def mean_db_between(self, t0: float, start_s: float, end_s: float) -> float | None:
        """Mean power level of the windows inside a span, in dBFS."""
        first = max(round((start_s - t0) / audio_m.WINDOW_S), 0)
        last = round((end_s - t0) / audio_m.WINDOW_S)
        if last - first > 4:
            # Leave out the edge windows: at a cut they still hold the codec's smear of the
            # neighbouring shot's sound.
            first, last = first + 1, last - 1
        part = self.levels_db[first:last]
        if len(part) == 0:
            return None
        return max(float(10 * np.log10(np.mean(10 ** (part / 10)))), audio_m.FLOOR_DB)


def shot_bounds(
    clip: ClipSpec, cut_times_s: Sequence[float], *, starts_at_cut: bool = False
) -> list[tuple[float, float, bool]]:
    """(start, end, starts_at_cut) of each shot inside the clip, in time order;
    ``starts_at_cut`` says the clip itself begins at a cut (the plan puts clip bounds on cuts)."""
    inner = sorted(t for t in cut_times_s if clip.start_s < t < clip.end_s)
    edges = [clip.start_s, *inner, clip.end_s]
    out = []
    for a, b in itertools.pairwise(edges):
        if b - a > 1e-3:
            out.append((a, b, a in inner or (a == clip.start_s and starts_at_cut)))
    return out


def _frames_in(times_s: np.ndarray, start_s: float, end_s: float, guard_s: float) -> np.ndarray:
    idx = np.where((times_s >= start_s + guard_s) & (times_s < end_s - guard_s))[0]
    if len(idx) == 0 and len(times_s):
        # A shot shorter than two samples: take the frame nearest its middle.
        idx = np.array([int(np.argmin(np.abs(times_s - (start_s + end_s) / 2)))])
    if len(idx) > STATS_MAX_FRAMES:
        idx = idx[np.linspace(0, len(idx) - 1, STATS_MAX_FRAMES).round().astype(int)]
    return idx


def measure_shots(
    clip: ClipSpec,
    cut_times_s: Sequence[float],
    times_s: np.ndarray,
    rgb: np.ndarray,
    fps: float,
    *,
    starts_at_cut: bool = False,
    first_index: int = 1,
) -> list[ShotMeasure]:
    """Brightness and colour of every shot in the clip, numbered from ``first_index`` (the
    video's number of the clip's first shot, when the caller knows it)."""
    shots = []
    bounds = shot_bounds(clip, cut_times_s, starts_at_cut=starts_at_cut)
    for i, (a, b, at_cut) in enumerate(bounds):
        idx = _frames_in(times_s, a, b, guard_s=0.5 / fps)
        picture = picture_stats(rgb[idx]) if len(idx) else None
        shots.append(ShotMeasure(first_index + i, a, b, at_cut, picture))
    return shots


def measure_motion(
    clip: ClipSpec,
    times_s: np.ndarray,
    diffs: np.ndarray,
    cut_times_s: Sequence[float],
    still_below: float,
    high_above: float,
    fps: float,
) -> list[MotionSpan]:
    """Still / moving / high-motion spans covering the clip, from per-pair differences."""
    if len(diffs) == 0:
        return []
    starts, ends = times_s[:-1].copy(), times_s[1:].copy()
    # The first and last samples stand for the clip's edges, so edge spans get their full length
    # before short spans are merged away.
    starts[0], ends[-1] = clip.start_s, clip.end_s
    values = diffs.astype(float).copy()
    for c in cut_times_s:
        # A pair across a hard cut measures the cut, not motion.
        values[(starts < c + 1e-6) & (ends >= c - 1e-6)] = np.nan
    measured = ~np.isnan(values)
    if not measured.any():
        return []
    smooth = median3(fill_gaps(values))
    thresholds = (still_below, high_above)
    levels = hysteresis_levels(smooth, thresholds)
    plain = plain_levels(fill_gaps(values), thresholds)
    found = merge_short_runs(runs(levels, starts, ends), MOTION_MIN_SPAN_S)
    out = []
    for k, r in enumerate(found):
        start = clip.start_s if k == 0 else _snap(r.start_s, cut_times_s, 1.0 / fps)
        end = clip.end_s if k == len(found) - 1 else _snap(r.end_s, cut_times_s, 1.0 / fps)
        sel = slice(r.first, r.last + 1)
        ok = measured[sel]
        agreement = float((plain[sel][ok] == r.level).mean()) if ok.any() else 0.0
        mean_diff = float(np.nanmean(values[sel])) if ok.any() else float(smooth[sel].mean())
        out.append(MotionSpan(MOTION_LABELS[r.level], start, end, mean_diff, agreement))
    return out


def _snap(t: float, cut_times_s: Sequence[float], within_s: float) -> float:
    """Move a span edge onto a hard cut closer than one sample interval."""
    near = [c for c in cut_times_s if abs(c - t) <= within_s + 1e-6]
    return min(near, key=lambda c: abs(c - t)) if near else t


def measure_audio(
    clip: ClipSpec, samples: np.ndarray, rate_hz: int, silence_db: float, loud_db: float
) -> AudioMeasure:
    """Window levels, silences and loud sounds of the clip's audio."""
    levels = audio_m.window_levels_db(samples, rate_hz)
    silences = audio_m.silence_spans(levels, clip.start_s, clip.end_s, silence_db)
    louds, median = audio_m.loud_spans(levels, clip.start_s, clip.end_s, loud_db)
    return AudioMeasure(levels_db=levels, median_db=median, silences=silences, louds=louds)
