"""Hard-cut (shot boundary) detection on tiny frames, streamed in one decode pass.

Each frame is shrunk to 64x36 and turned into HSV. The score of frame t is the mean absolute
change of hue (circular), saturation and value against frame t-1, on a 0-1 scale (the measure
PySceneDetect's ContentDetector uses). Hue and saturation do not change when a picture is scaled
in brightness, so a fade moves only V, a little per frame, while a cut moves all three at once.

A frame starts a new shot when all of these hold:

* its score reaches ``threshold`` (absolute floor: a cut must change the picture noticeably);
* its score is ``ratio`` times the median score of the frames around it (an adaptive threshold:
  a fast pan or flickering flames score high on every frame, so no single frame stands out);
* it is the largest score within one frame either side (one cut, not two, on a two-frame seam);
* the picture does not come back within ``flash_s`` (a flash or a one-frame glitch is a spike
  after which frame t+k again looks like frame t-1; its end is a frame t that looks like t-1-k);
* the previous cut is at least ``min_shot_s`` earlier.

:class:`ShotDetector` is fed frames in display order and reports cuts with a short delay (the
look-ahead it needs), so the sampler can share the same decode pass. This module decodes nothing;
``media.scan`` owns the decode pass and the ``detect_shots`` entry point.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from videoidx.types import ShotCut

DEFAULT_THRESHOLD = 0.12
DEFAULT_RATIO = 2.5
WINDOW_S = 0.5
MIN_SHOT_S = 0.4
FLASH_S = 0.25
# A frame that returns to within this fraction of the cut's score of the pre-cut frame is a flash.
FLASH_RETURN = 0.5
# Baseline floor: in a still scene the median is ~0, and any noise would otherwise pass the ratio.
BASELINE_FLOOR = 0.01


def hsv_small(rgb: np.ndarray) -> np.ndarray:
    """HSV (each 0-1) of uint8 RGB frames shaped (..., H, W, 3); returns float32 (..., 3, H, W)."""
    x = rgb.astype(np.float32) * (1.0 / 255.0)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    c = mx - mn
    safe_c = np.where(c > 0, c, 1.0)
    s = np.where(mx > 0, c / np.where(mx > 0, mx, 1.0), 0.0)
    h = np.where(
        mx == r,
        ((g - b) / safe_c) % 6.0,
        np.where(mx == g, (b - r) / safe_c + 2.0, (r - g) / safe_c + 4.0),
    )
    h = np.where(c > 0, h / 6.0, 0.0)
    return np.stack([h, s, mx], axis=-3).astype(np.float32)


def hsv_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Mean over pixels of (circular dH + dS + dV) / 3 between HSV frames (..., 3, H, W)."""
    d = np.abs(a - b)
    dh = np.minimum(d[..., 0, :, :], 1.0 - d[..., 0, :, :]) * 2.0
    total = (
        dh.mean(axis=(-2, -1))
        + d[..., 1, :, :].mean(axis=(-2, -1))
        + d[..., 2, :, :].mean(axis=(-2, -1))
    )
    result: np.ndarray | float = total / 3.0
    return result


@dataclass
class _Pending:
    index: int
    time_s: float
    score: float


class ShotDetector:
    """Streaming cut detector: ``push`` frames in display order, collect cuts, then ``finish``."""

    def __init__(
        self,
        fps: float,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        ratio: float = DEFAULT_RATIO,
        window_s: float = WINDOW_S,
        min_shot_s: float = MIN_SHOT_S,
        flash_s: float = FLASH_S,
    ) -> None:
        fps = fps if fps > 0 else 25.0
        self.threshold = threshold
        self.ratio = ratio
        self.window = max(2, round(window_s * fps))
        self.min_shot = max(1, round(min_shot_s * fps))
        self.flash = max(1, round(flash_s * fps))
        self.lookahead = max(self.window, self.flash + 1)
        # Scores of the last 2*window+1 frames and HSV of the frames the flash test may need.
        self._scores: deque[_Pending] = deque()
        self._hsv: deque[tuple[int, np.ndarray]] = deque(maxlen=self.lookahead + self.flash + 3)
        self._last_hsv: np.ndarray | None = None
        self._last_cut = -(10**9)
        self._decided = -1
        self.cuts: list[ShotCut] = []

    def push_batch(
        self, indices: Iterable[int], times_s: Iterable[float], rgb_small: np.ndarray
    ) -> list[ShotCut]:
        """Feed consecutive frames (uint8 RGB, N x H x W x 3); returns cuts decided so far."""
        hsv = hsv_small(rgb_small)
        prev = self._last_hsv
        if prev is None:
            scores = np.concatenate([[0.0], np.asarray(hsv_distance(hsv[1:], hsv[:-1]))])
        else:
            both = np.concatenate([prev[None], hsv])
            scores = np.asarray(hsv_distance(both[1:], both[:-1]))
        self._last_hsv = hsv[-1]
        new: list[ShotCut] = []
        for k, (index, time_s) in enumerate(zip(indices, times_s, strict=True)):
            self._scores.append(_Pending(int(index), float(time_s), float(scores[k])))
            self._hsv.append((int(index), hsv[k]))
            new.extend(self._decide(final=False))
        return new

    def finish(self) -> list[ShotCut]:
        """Decide the frames still waiting for look-ahead; returns the cuts found by it."""
        return self._decide(final=True)

    # -- internals -----------------------------------------------------------------------------

    def _decide(self, *, final: bool) -> list[ShotCut]:
        out: list[ShotCut] = []
        items = self._scores
        while items:
            # The frame to decide sits `window` frames behind the newest one (or anything, at end).
            first = items[0].index
            target = max(self._decided + 1, first)  # a stream may start mid-video
            pos = target - first
            if pos >= len(items) or (not final and len(items) - 1 - pos < self.lookahead):
                break
            cut = self._judge(pos)
            self._decided = items[pos].index
            if cut is not None:
                out.append(cut)
                self.cuts.append(cut)
            # Keep `window` frames of history behind the next frame to decide.
            while len(items) > 0 and items[0].index < self._decided + 1 - self.window:
                items.popleft()
        return out

    def _judge(self, pos: int) -> ShotCut | None:
        items = self._scores
        cur = items[pos]
        if cur.score < self.threshold or cur.index - self._last_cut < self.min_shot:
            return None
        if cur.index == 0:
            return None
        lo, hi = max(0, pos - self.window), min(len(items), pos + self.window + 1)
        around = [items[i].score for i in range(lo, hi) if i != pos]
        baseline = max(BASELINE_FLOOR, float(np.median(around))) if around else BASELINE_FLOOR
        if cur.score < self.ratio * baseline:
            return None
        # Non-maximum suppression over the neighbours: a two-frame seam is one cut.
        for i in (pos - 1, pos + 1):
            if 0 <= i < len(items) and items[i].score > cur.score:
                return None
        if self._is_flash(cur):
            return None
        self._last_cut = cur.index
        return ShotCut(frame=cur.index, time_s=round(cur.time_s, 6), score=round(cur.score, 4))

    def _is_flash(self, cur: _Pending) -> bool:
        """A spike that returns: t+k looks like t-1 (flash start), or t like t-1-k (its end)."""
        by_index = dict(self._hsv)
        before = by_index.get(cur.index - 1)
        now = by_index.get(cur.index)
        if before is None or now is None:
            return False
        limit = FLASH_RETURN * cur.score
        for k in range(1, self.flash + 1):
            after = by_index.get(cur.index + k)
            if after is not None and float(hsv_distance(before, after)) < limit:
                return True
            earlier = by_index.get(cur.index - 1 - k)
            if earlier is not None and float(hsv_distance(earlier, now)) < limit:
                return True
        return False


__all__ = ["ShotDetector", "hsv_distance", "hsv_small"]
