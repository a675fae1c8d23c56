"""Plan clips: cut a video's timeline into pieces of about ``clip_target_s``, snapped to shot cuts.

A pure function, so it is tested without any video. The plan is made greedily from the start:
each boundary is the shot cut nearest to ``start + clip_target_s`` within ``shot_snap_s`` of it
(and within the min/max lengths), else the target itself. A boundary therefore depends only on
the cuts in ``[start, start + clip_max_s]``, which lets the one-pass scanner (``media.scan``)
finish a clip as soon as the decode has passed that window (the plan of a prefix of the cuts
agrees with the final plan for those clips). The tail is never left shorter than ``clip_min_s``;
a video shorter than ``clip_target_s + clip_min_s`` is one clip. With ``clip_overlap_s`` every
clip but the first starts that much before its boundary.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from videoidx.settings import MediaSettings
from videoidx.types import ClipSpec, ShotCut, VideoInfo


def plan_boundaries(
    duration_s: float, cut_times_s: Sequence[float], m: MediaSettings
) -> list[float]:
    """Clip boundaries ``[0, b1, ..., duration]`` (without overlap)."""
    cuts = sorted(t for t in cut_times_s if 0 < t < duration_s)

    def nearest_cut(lo: float, hi: float, target: float) -> float:
        i = bisect.bisect_left(cuts, lo)
        best: float | None = None
        while i < len(cuts) and cuts[i] <= hi:
            if best is None or abs(cuts[i] - target) < abs(best - target):
                best = cuts[i]
            i += 1
        return best if best is not None else min(max(target, lo), hi)

    return _boundaries(duration_s, m, nearest_cut)


def clip_count_range(duration_s: float, m: MediaSettings) -> tuple[int, int]:
    """The fewest and the most clips any shot cuts can give a video of ``duration_s``.

    A plan made before the shot pass (a dry run) knows the count only within this range: each
    boundary may snap anywhere in its window. Every window's ends grow with the clip's start, so
    always taking the latest end reaches the tail in the fewest clips, and the earliest in the
    most.
    """
    fewest = len(_boundaries(duration_s, m, lambda lo, hi, target: hi)) - 1
    most = len(_boundaries(duration_s, m, lambda lo, hi, target: lo)) - 1
    return fewest, most


def _boundaries(
    duration_s: float, m: MediaSettings, pick: Callable[[float, float, float], float]
) -> list[float]:
    """The greedy plan; ``pick(lo, hi, target)`` chooses each boundary within ``[lo, hi]``."""
    bounds = [0.0]
    start = 0.0
    # Split while the rest is too long for one clip, or a target-length clip leaves a full tail.
    while duration_s - start > m.clip_max_s or duration_s - start - m.clip_target_s >= m.clip_min_s:
        target = start + m.clip_target_s
        lo = max(start + m.clip_min_s, target - m.shot_snap_s)
        hi = min(start + m.clip_max_s, target + m.shot_snap_s, duration_s - m.clip_min_s)
        # Lengths that cannot all be met (min > max/2): split the rest evenly instead.
        end = start + (duration_s - start) / 2 if hi < lo else pick(lo, hi, target)
        bounds.append(round(end, 6))
        start = end
    bounds.append(round(duration_s, 6))
    return bounds


def plan_clips(info: VideoInfo, cuts: Sequence[ShotCut], settings: MediaSettings) -> list[ClipSpec]:
    """Clips covering ``info``'s whole duration, in time order (see the module docstring)."""
    bounds = plan_boundaries(info.duration_s, [c.time_s for c in cuts], settings)
    clips = []
    for i in range(len(bounds) - 1):
        start = bounds[i] if i == 0 else max(0.0, bounds[i] - settings.clip_overlap_s)
        clips.append(
            ClipSpec(video_id=info.video_id, index=i, start_s=round(start, 6), end_s=bounds[i + 1])
        )
    return clips
