"""Hard-cut (shot boundary) detection on tiny analysis pictures, streamed in one decode pass.

Every frame arrives as analysis planes (``media.decode``): mean Y, U and V on a 64x36 grid and
the local contrast of Y (how much texture each grid cell has). Frame t is compared with t-1 in
three ways, each on a 0-1 scale:

* ``colour``: mean over the grid of (|dY| + |dU| + |dV|) / 3. YUV rather than HSV: in dark
  pictures hue and saturation are noise, so a fade from black made HSV detectors fire.
* ``texture``: mean |d contrast|. A cut from a fine texture to a flat picture of the same
  average colour (grass to sky) hardly moves the cell means; a flat picture flickering in
  brightness moves them a lot but has no texture at all.
* ``region``: the share of the 8x6 cells whose own colour change spikes (reaches
  ``CELL_FACTOR`` times ``threshold`` and ``RATIO`` times that cell's median change over
  ``window_s``): a cut in one half of a split screen or in an inset picture, while the rest of
  the picture keeps moving.

Frame t starts a new shot when

* one of the three reaches its floor and stands alone: it is the largest within
  ``ISOLATION`` frames either side (the earlier frame wins a tie) and at most one of those
  neighbours reaches half of it. A cut changes the picture in one frame (two on a blended seam);
  a dissolve, a fade, a pan or a strobe changes it in many;
* the change is not linear: frame t is not close to the midpoint of frames t-1 and t+1 (inside
  a dissolve or a fade it is; across a cut it is half a cut away);
* the picture does not come back within ``flash_s`` (a flash or a one-frame glitch is a spike
  after which frame t+k looks like frame t-1 again; its end is a frame t that looks like t-1-k);
* the previous cut is at least ``min_shot_s`` earlier.

One convention covers black: where the picture leaves black that it has held still for at least
``min_shot_s``, and a fade (not a cut) led into that black, a new shot starts (fade out, hold,
fade in: two shots, as in PySceneDetect's goldens on its test video). A fade out straight into a
fade in, with no hold, is one transition and no cut.

:class:`ShotDetector` is fed frames in display order and reports cuts with a short delay (the
look-ahead it needs), so the sampler can share the same decode pass. This module decodes nothing;
``media.scan`` owns the decode pass and the ``detect_shots`` entry point.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from videoidx.types import ShotCut

DEFAULT_THRESHOLD = 0.025
"""Smallest ``colour`` change (0-1) of a cut; the isolation test does the rest. The texture and
per-cell floors scale with it, so one setting makes the detector more or less sensitive."""
TEXTURE_FACTOR = 1.4
CELL_FACTOR = 3.2
REGION_THRESHOLD = 0.14
"""Smallest share of grid cells that must cut together (an inset of a sixth of the frame)."""
RATIO = 3.0
ISOLATION = 3
# A neighbour at this share of a peak or more counts as part of the same change.
NEAR_SHARE = 1 / 3
WINDOW_S = 0.5
MIN_SHOT_S = 0.4
FLASH_S = 0.25
# A frame that returns to within this fraction of the cut's change of the pre-cut frame: a flash.
FLASH_RETURN = 0.5
# Frame t closer than this fraction of |t+1 - t-1| to their midpoint is inside a gradual change.
LINEAR_BELOW = 0.25
# Black: mean Y below this (0-255, either range); still: colour change below STILL.
BLACK_Y = 24.0
STILL = 0.002
CELLS_X, CELLS_Y = 8, 6
_MEDIAN_FLOOR = 0.005


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean (|dY| + |dU| + |dV|) / 3 between two analysis pictures (4 x H x W), on 0-1."""
    return float(np.abs(a[:3] - b[:3]).mean() / 255.0)


def _cell_means(x: np.ndarray) -> np.ndarray:
    """Means of ``x`` (N x H x W) over the grid of cells: N x CELLS_Y x CELLS_X."""
    n, h, w = x.shape
    ch, cw = h // CELLS_Y, w // CELLS_X
    rows = x[:, : ch * CELLS_Y, : cw * CELLS_X].reshape(n, CELLS_Y, ch, cw * CELLS_X).sum(axis=2)
    out: np.ndarray = rows.reshape(n, CELLS_Y, CELLS_X, cw).sum(axis=3) / (ch * cw)
    return out


def _isolated(series: np.ndarray, floor: float, pos: np.ndarray) -> np.ndarray:
    """Which of the frames at ``pos`` make a lone peak of ``series`` reaching ``floor``."""
    r = ISOLATION
    padded = np.concatenate([np.zeros(r), series, np.zeros(r)])
    win = sliding_window_view(padded, 2 * r + 1)[pos]
    centre = win[:, r]
    before, after = win[:, :r], win[:, r + 1 :]
    peak = (before < centre[:, None]).all(axis=1) & (after <= centre[:, None]).all(axis=1)
    bar = centre[:, None] * NEAR_SHARE
    near = (before >= bar).sum(axis=1) + (after >= bar).sum(axis=1)
    out: np.ndarray = (centre >= floor) & peak & (near <= 1)
    return out


class _Pictures:
    """The analysis pictures of the frames in the buffer, kept as the callers' batches (no copy)."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.starts: list[int] = []  # buffer position of each chunk's first frame
        self.length = 0

    def __len__(self) -> int:
        return self.length

    def append(self, pics: np.ndarray) -> None:
        self.chunks.append(pics)
        self.starts.append(self.length)
        self.length += len(pics)

    def __getitem__(self, p: int) -> np.ndarray:
        for start, chunk in zip(reversed(self.starts), reversed(self.chunks), strict=True):
            if p >= start:
                return chunk[p - start]
        raise IndexError(p)

    def last(self) -> np.ndarray | None:
        return self.chunks[-1][-1] if self.chunks else None

    def drop(self, count: int) -> None:
        """Forget the first ``count`` frames (whole chunks only; positions shift by ``count``)."""
        while len(self.chunks) > 1 and self.starts[1] <= count:
            self.chunks.pop(0)
            self.starts.pop(0)
        first = self.starts[0]
        if first < count:  # part of the first chunk goes: keep a view of the rest
            self.chunks[0] = self.chunks[0][count - first :]
        self.starts = [start - count if start > count else 0 for start in self.starts]
        self.starts[0] = 0
        self.length -= count


class ShotDetector:
    """Streaming cut detector: ``push_batch`` frames in display order, then ``finish``."""

    def __init__(
        self,
        fps: float,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        window_s: float = WINDOW_S,
        min_shot_s: float = MIN_SHOT_S,
        flash_s: float = FLASH_S,
        region_threshold: float = REGION_THRESHOLD,
    ) -> None:
        fps = fps if fps > 0 else 25.0
        self.threshold = threshold
        self.texture_threshold = threshold * TEXTURE_FACTOR
        self.cell_threshold = threshold * CELL_FACTOR
        self.region_threshold = region_threshold
        self.window = max(2, round(window_s * fps))
        self.min_shot = max(1, round(min_shot_s * fps))
        self.flash = max(1, round(flash_s * fps))
        # Frames after t needed to decide t: the region median's window, then the isolation test
        # on the region share, the flash test and the linearity test.
        self.lookahead = max(self.window + ISOLATION, self.flash) + 1
        self._history = max(self.window, self.flash + 1, ISOLATION) + 2
        self._idx = np.zeros(0, dtype=np.int64)
        self._t = np.zeros(0, dtype=np.float64)
        self._pics = _Pictures()
        self._luma = np.zeros(0)
        self._colour = np.zeros(0)
        self._texture = np.zeros(0)
        self._cells = np.zeros((0, CELLS_X * CELLS_Y))
        self._region = np.zeros(0)
        self._region_done = 0
        self._next = 0  # buffer position of the next frame to decide
        self._last_cut = -(10**9)
        self._hold_start = -1  # index of the first frame of the current black hold, or -1
        self.cuts: list[ShotCut] = []

    def push_batch(
        self, indices: Iterable[int], times_s: Iterable[float], analysis: np.ndarray
    ) -> list[ShotCut]:
        """Feed consecutive frames (analysis planes, N x 4 x H x W); returns cuts decided now."""
        pics = np.asarray(analysis, dtype=np.float32)
        if not len(pics):
            return []
        prev = self._pics.last()
        # Changes into every new frame: from the previous batch's last frame (or none, for the
        # very first frame), then within the batch.
        diff = np.empty_like(pics)
        diff[0] = 0.0 if prev is None else np.abs(pics[0] - prev)
        np.subtract(pics[1:], pics[:-1], out=diff[1:])
        np.abs(diff[1:], out=diff[1:])
        per_pixel = diff[:, 0] + diff[:, 1]
        per_pixel += diff[:, 2]
        per_pixel *= 1.0 / (3 * 255.0)
        colour = per_pixel.mean(axis=(1, 2))
        cells = _cell_means(per_pixel).reshape(len(pics), -1)
        # Texture per cell, not per pixel: a moving fine texture changes every pixel's contrast
        # from frame to frame, but not how much texture each cell holds.
        grain = _cell_means(pics[:, 3])
        before = grain[:1] if prev is None else _cell_means(prev[None, 3])
        texture = np.abs(np.diff(grain, axis=0, prepend=before)).mean(axis=(1, 2)) / 255.0
        self._idx = np.concatenate([self._idx, np.fromiter(indices, dtype=np.int64)])
        self._t = np.concatenate([self._t, np.fromiter(times_s, dtype=np.float64)])
        self._pics.append(pics)
        self._luma = np.concatenate([self._luma, pics[:, 0].mean(axis=(1, 2))])
        self._colour = np.concatenate([self._colour, colour])
        self._texture = np.concatenate([self._texture, texture])
        self._cells = np.concatenate([self._cells, cells])
        self._region = np.concatenate([self._region, np.zeros(len(pics))])
        return self._decide(final=False)

    def finish(self) -> list[ShotCut]:
        """Decide the frames still waiting for look-ahead; returns the cuts found by it."""
        return self._decide(final=True)

    # -- internals -----------------------------------------------------------------------------

    def _update_region(self, final: bool) -> None:
        """The region share of every frame whose median window is complete."""
        total = len(self._cells)
        stop = total if final else total - self.window
        start = self._region_done
        if stop <= start:
            return
        w = self.window
        cells = self._cells
        now = cells[start:stop]
        # Only frames with a cell above the floor can have a spike; the rest share 0.
        rows = np.flatnonzero(now.max(axis=1) >= self.cell_threshold)
        region = np.zeros(len(now))
        if len(rows):
            keep = np.ones(2 * w + 1, dtype=bool)
            keep[w - 1 : w + 2] = False  # the window [p-w, p+w] without the cut and its seam
            pad = np.full((w, cells.shape[1]), np.nan)
            padded = np.concatenate([pad, cells, pad])
            wins = sliding_window_view(padded, 2 * w + 1, axis=0)[start + rows][:, :, keep]
            edge = (start + rows < w) | (start + rows + w >= len(cells))
            median = np.empty((len(rows), cells.shape[1]))
            if (~edge).any():
                median[~edge] = np.median(wins[~edge], axis=2)
            if edge.any():
                with np.errstate(all="ignore"):
                    median[edge] = np.nanmedian(wins[edge], axis=2)
            median = np.where(np.isnan(median), _MEDIAN_FLOOR, np.maximum(median, _MEDIAN_FLOOR))
            picked = now[rows]
            spikes = (picked >= self.cell_threshold) & (picked >= RATIO * median)
            region[rows] = spikes.mean(axis=1)
        self._region[start:stop] = region
        self._region_done = stop

    def _decide(self, *, final: bool) -> list[ShotCut]:
        self._update_region(final)
        total = len(self._colour)
        stop = total if final else total - self.lookahead
        out: list[ShotCut] = []
        if stop > self._next:
            pos = np.arange(self._next, stop)
            candidate = (
                _isolated(self._colour, self.threshold, pos)
                | _isolated(self._texture, self.texture_threshold, pos)
                | _isolated(self._region, self.region_threshold, pos)
            )
            black = self._luma[pos] < BLACK_Y
            still = self._colour[pos] < STILL
            # Only candidates and frames in or just after black need a look; the rest reset
            # the black hold (they are not black).
            after_black = np.concatenate([[self._hold_start >= 0], black[:-1]])
            look = candidate | black | after_black
            for k in np.flatnonzero(look).tolist():
                if k > 0 and not look[k - 1]:
                    self._hold_start = -1  # frame k-1 was skipped: it was not black
                cut = self._judge(int(pos[k]), bool(candidate[k]), bool(black[k]), bool(still[k]))
                if cut is not None:
                    out.append(cut)
                    self.cuts.append(cut)
            if not black[-1]:
                self._hold_start = -1
            self._next = stop
        self._trim()
        return out

    def _judge(self, p: int, candidate: bool, black: bool, still: bool) -> ShotCut | None:
        index = int(self._idx[p])
        fresh = index - self._last_cut >= self.min_shot
        leaves_black = self._leaves_black_hold(p, index, black, still)
        abrupt = candidate and p > 0 and index > 0 and self._abrupt(p)
        cut = self._cut(p) if fresh and (leaves_black or abrupt) else None
        # Track the black hold: ``_hold_start`` is the frame that entered black (a video that
        # starts black has none; the frame before stands in for it).
        if not black:
            self._hold_start = -1
        elif not still:
            self._hold_start = index
        elif self._hold_start < 0:
            self._hold_start = index - 1
        return cut

    def _leaves_black_hold(self, p: int, index: int, black: bool, still: bool) -> bool:
        """Frame p leaves a still black hold of ``min_shot`` frames that a fade led into."""
        if self._hold_start < 0 or (black and still):
            return False
        held = index - self._hold_start - 1 >= self.min_shot
        entered_by_cut = self._last_cut >= self._hold_start
        return held and not entered_by_cut and self._colour[p] >= STILL

    def _cut(self, p: int) -> ShotCut:
        index = int(self._idx[p])
        self._last_cut = index
        return ShotCut(
            frame=index, time_s=round(float(self._t[p]), 6), score=round(float(self._colour[p]), 4)
        )

    def _abrupt(self, p: int) -> bool:
        """Frame p's change is neither part of a gradual change nor a flash."""
        return not self._gradual(p) and not self._is_flash(p)

    def _gradual(self, p: int) -> bool:
        """Frame p lies on a straight line from p-1 to p+1: the middle of a fade or dissolve."""
        if p + 1 >= len(self._pics):
            return False
        before, now, after = self._pics[p - 1], self._pics[p], self._pics[p + 1]
        span = colour_distance(after, before)
        return span > 0 and colour_distance(now, (before + after) / 2) < LINEAR_BELOW * span

    def _is_flash(self, p: int) -> bool:
        """A spike that returns: p+k looks like p-1 (flash start), or p like p-1-k (its end)."""
        pics = self._pics
        limit = FLASH_RETURN * float(self._colour[p])
        for k in range(1, self.flash + 1):
            if p + k < len(pics) and colour_distance(pics[p - 1], pics[p + k]) < limit:
                return True
            if p - 1 - k >= 0 and colour_distance(pics[p - 1 - k], pics[p]) < limit:
                return True
        return False

    def _trim(self) -> None:
        """Forget frames no later decision can look back to."""
        drop = min(self._next, self._region_done) - self._history - self.window
        if drop <= 0:
            return
        for name in ("_idx", "_t", "_luma", "_colour", "_texture", "_cells", "_region"):
            setattr(self, name, getattr(self, name)[drop:])
        self._pics.drop(drop)
        self._next -= drop
        self._region_done -= drop


__all__ = ["ShotDetector", "colour_distance"]
