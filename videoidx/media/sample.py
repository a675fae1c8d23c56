"""Choose, decode and encode the frames an indexer sees for each clip.

Per clip the sampler takes, at exact frame times: the codec keyframes, the first frame of every
shot, and uniform fill so that no gap (also from the clip start and to its end) exceeds
``frame_max_gap_s``. Fill frames come from a fixed grid of half that spacing (the first frame at or
after every ``k * frame_max_gap_s / 2`` seconds), which is known before decoding, so the one-pass
scanner keeps only those frames and never a whole clip in memory. Then near-duplicates are dropped
(``dedupe_threshold``), ``frame_budget`` is enforced (fill goes before shot starts, shot starts
before keyframes, always the frame whose removal leaves the smallest gap), frames are sized to a
long side of at most ``frame_long_side_px`` with both sides multiples of 28 (GLM-4.5V's token
cell), optionally stamped with their time, and JPEG-encoded. ``Frame.time_s`` is absolute.

The on-screen text reader gets its own frames (:func:`finish_text_frames`): every candidate of
the clip, with no dedupe and no budget (a slide change on the same background is a near-duplicate
to the model's test, yet new text), at the larger text size, never time-stamped (the stamp would
be read as text). The reader decides which of them changed enough to read.

This module is a leaf: pure choices on frame indices and pixels, no decoding. The decode pass
that feeds it (shared with shot detection) and the public ``sample_frames`` / ``sample_clip`` /
``read_frames`` entry points are in ``media.scan``, so imports run one way: scan -> sample, shots.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from videoidx.settings import MediaSettings
from videoidx.types import ClipSpec, Frame

CELL_PX = 28
REASON_RANK = {"fill": 0, "shot": 1, "keyframe": 2}


def output_size_px(width_px: int, height_px: int, long_side_px: int) -> tuple[int, int]:
    """(width, height) of sampled frames: long side <= ``long_side_px``, both multiples of 28.

    Never upscales beyond the video's own long side (rounded down to a cell).
    """
    long_in = max(width_px, height_px, 1)
    long_out = max(CELL_PX, min(long_side_px, long_in) // CELL_PX * CELL_PX)
    short_in = min(width_px, height_px)
    short_out = max(CELL_PX, round(short_in * long_out / long_in / CELL_PX) * CELL_PX)
    return (long_out, short_out) if width_px >= height_px else (short_out, long_out)


def grid_frames(times_s: np.ndarray, grid_s: float) -> np.ndarray:
    """Index of the first frame at or after each multiple of ``grid_s`` (unique, sorted)."""
    if len(times_s) == 0:
        return np.zeros(0, dtype=np.int64)
    marks = np.arange(0.0, float(times_s[-1]) + grid_s, grid_s)
    idx = np.searchsorted(times_s, marks - 1e-6, side="left")
    idx = idx[idx < len(times_s)]
    return np.unique(idx.astype(np.int64))


def clip_frame_range(times_s: np.ndarray, clip: ClipSpec, *, last: bool) -> tuple[int, int]:
    """[first, stop) indices of the frames whose start time lies in the clip."""
    lo = int(np.searchsorted(times_s, clip.start_s - 1e-6, side="left"))
    hi = len(times_s) if last else int(np.searchsorted(times_s, clip.end_s - 1e-6, side="left"))
    return lo, max(lo, hi)


def choose_frames(
    times_s: np.ndarray,
    clip: ClipSpec,
    *,
    keyframes: Sequence[int] | np.ndarray,
    cut_frames: Sequence[int],
    max_gap_s: float,
    last: bool = False,
    keyframes_only: bool = False,
) -> list[tuple[int, str]]:
    """(frame index, reason) of the frames to sample in ``clip``, before dedupe and budget."""
    lo, hi = clip_frame_range(times_s, clip, last=last)
    if hi <= lo:
        return []
    chosen: dict[int, str] = {}
    for k in keyframes:
        if lo <= k < hi:
            chosen[int(k)] = "keyframe"
    if keyframes_only:
        if not chosen:  # a clip between two far keyframes still gets the one before it
            prev = [int(k) for k in keyframes if k < lo]
            if prev:
                chosen[prev[-1]] = "keyframe"
        return sorted(chosen.items())
    for c in cut_frames:
        if lo <= c < hi:
            chosen[int(c)] = "shot"
    grid = grid_frames(times_s, max_gap_s / 2)
    grid = grid[(grid >= lo) & (grid < hi)]
    if len(grid) and (not chosen or times_s[min(chosen)] - clip.start_s > max_gap_s / 2):
        chosen.setdefault(int(grid[0]), "fill")
    # Greedy fill: from each kept frame, jump to the farthest grid frame within max_gap.
    end_s = float(times_s[hi - 1]) if last else clip.end_s
    points = sorted(float(times_s[i]) for i in chosen)
    pos = float(times_s[min(chosen)]) if chosen else clip.start_s
    grid_t = times_s[grid]
    for b in [*points, end_s]:
        while b - pos > max_gap_s + 1e-6:
            ok = np.nonzero((grid_t > pos + 1e-6) & (grid_t <= pos + max_gap_s + 1e-6))[0]
            if len(ok) == 0:
                break
            g = int(grid[ok[-1]])
            chosen.setdefault(g, "fill")
            pos = float(times_s[g])
        pos = max(pos, b)
    return sorted(chosen.items())


def apply_budget(
    items: list[tuple[int, str]], times_s: np.ndarray, budget: int
) -> list[tuple[int, str]]:
    """Drop frames until ``budget`` remain: lowest reason first, keeping coverage even."""
    items = sorted(items)
    while len(items) > budget:
        lowest = min(REASON_RANK[r] for _, r in items)
        best, best_span = -1, math.inf
        for j, (idx, reason) in enumerate(items):
            if REASON_RANK[reason] != lowest:
                continue
            prev_t = times_s[items[j - 1][0]] if j > 0 else times_s[idx]
            next_t = times_s[items[j + 1][0]] if j + 1 < len(items) else times_s[idx]
            span = float(next_t - prev_t)
            if span < best_span:
                best, best_span = j, span
        items.pop(best)
    return items


def is_duplicate(a_small: np.ndarray, b_small: np.ndarray, threshold: float) -> bool:
    """Mean absolute difference (0-1) of two thumbnails below ``threshold``."""
    diff = np.abs(a_small.astype(np.int16) - b_small.astype(np.int16)).mean() / 255.0
    return bool(diff < threshold)


def encode_frame(
    rgb: np.ndarray,
    size: tuple[int, int],
    *,
    quality: int,
    time_s: float,
    burn: bool,
) -> bytes:
    """Resize (if needed), optionally stamp the time, and JPEG-encode one upright RGB frame."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(rgb)
    if img.size != size:
        img = img.resize(size, Image.Resampling.BILINEAR)
    if burn:
        draw = ImageDraw.Draw(img)
        text = f"{time_s:.1f}s"
        box = draw.textbbox((4, 4), text)
        draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill=(0, 0, 0))
        draw.text((4, 4), text, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


@dataclass
class Candidate:
    """A decoded frame kept for possible sampling."""

    index: int
    time_s: float
    small: np.ndarray
    rgb: np.ndarray


def finish_clip(
    picks: list[tuple[int, str]],
    frames: dict[int, Candidate],
    times_s: np.ndarray,
    settings: MediaSettings,
    size: tuple[int, int],
) -> list[Frame]:
    """Dedupe, apply the budget and encode the chosen frames of one clip."""
    kept: list[tuple[int, str]] = []
    last_small: np.ndarray | None = None
    for idx, reason in picks:
        cand = frames.get(idx)
        if cand is None:
            continue
        if (
            last_small is not None
            and reason != "shot"
            and is_duplicate(cand.small, last_small, settings.dedupe_threshold)
        ):
            continue
        kept.append((idx, reason))
        last_small = cand.small
    kept = apply_budget(kept, times_s, settings.frame_budget)
    out = []
    for idx, reason in kept:
        cand = frames[idx]
        jpeg = encode_frame(
            cand.rgb,
            size,
            quality=settings.jpeg_quality,
            time_s=cand.time_s,
            burn=settings.burn_timestamps,
        )
        out.append(
            Frame(
                time_s=round(cand.time_s, 6),
                jpeg=jpeg,
                width_px=size[0],
                height_px=size[1],
                frame_index=idx,
                reason=reason,
            )
        )
    return out


def finish_text_frames(
    picks: list[tuple[int, str]],
    frames: dict[int, Candidate],
    frame_range: tuple[int, int],
    size: tuple[int, int],
    quality: int,
) -> list[Frame]:
    """Every kept candidate of one clip (those in ``frame_range`` [first, stop) and the picks),
    encoded at ``size`` for the text reader; a pick keeps its reason, the rest are ``fill``."""
    reasons = dict(picks)
    lo, hi = frame_range
    chosen = {i for i in frames if lo <= i < hi} | {i for i in reasons if i in frames}
    out = []
    for idx in sorted(chosen):
        cand = frames[idx]
        jpeg = encode_frame(cand.rgb, size, quality=quality, time_s=cand.time_s, burn=False)
        out.append(
            Frame(
                time_s=round(cand.time_s, 6),
                jpeg=jpeg,
                width_px=size[0],
                height_px=size[1],
                frame_index=idx,
                reason=reasons.get(idx, "fill"),
            )
        )
    return out
