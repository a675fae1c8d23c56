"""Small pictures of each clip at a fixed rate, kept from the scan's own decode.

The scan pass already decodes every frame and stacks a 128x72 analysis picture under each one
(``media.decode``). An indexer that measures the picture itself (the offline indexer's motion,
cuts and colour, at 5 per second) used to decode every clip a second time for that: on 25 s of
1080p30, 1.55 s of CPU and a 55 MB ffmpeg process. :class:`PictureTrack` keeps the first frame
of every ``1 / fps`` slot of the video's timeline instead, as RGB (27 KB each), until the clips
that need them have been handed out: with 5 per second and 40 s of clips in flight, about 5 MB.
"""

from __future__ import annotations

import math

import numpy as np

from videoidx.media.decode import ANALYSIS_H, ANALYSIS_W, FrameBatch
from videoidx.types import ClipPictures, ClipSpec


class PictureTrack:
    """The analysis pictures of a scan, ``fps`` per second, for the clips not yet handed out."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._times: list[np.ndarray] = []
        self._rgb: list[np.ndarray] = []
        self._last_slot = -math.inf

    def add(self, batch: FrameBatch) -> None:
        """Keep the batch's frames that open a new slot (frames come in display order)."""
        if not len(batch.times_s):
            return
        # The slot a frame falls in; a tiny epsilon so a frame exactly on a slot's start
        # (t = k / fps in float) opens that slot rather than ending the one before.
        slots = np.floor(batch.times_s * self.fps + 1e-6)
        before = np.concatenate(([self._last_slot], slots[:-1]))
        keep = np.flatnonzero(slots > before)
        self._last_slot = float(slots[-1])
        if len(keep):
            self._times.append(batch.times_s[keep])
            self._rgb.append(batch.small_rgb(keep))

    def of(self, clip: ClipSpec, *, last: bool) -> ClipPictures:
        """The kept pictures inside ``clip`` (its end included when it is the video's last)."""
        times = np.concatenate(self._times) if self._times else np.zeros(0)
        inside = times >= clip.start_s - 1e-6
        inside &= (times <= clip.end_s + 1e-6) if last else (times < clip.end_s - 1e-6)
        if not self._rgb:
            empty = np.zeros((0, ANALYSIS_H, ANALYSIS_W, 3), dtype=np.uint8)
            return ClipPictures(times_s=times, rgb=empty, fps=self.fps)
        rgb = np.concatenate(self._rgb)[inside]
        return ClipPictures(times_s=times[inside], rgb=rgb, fps=self.fps)

    def forget_before(self, start_s: float) -> None:
        """Drop pictures before ``start_s`` (the next clip's start: clips may overlap)."""
        if not self._times:
            return
        times, rgb = np.concatenate(self._times), np.concatenate(self._rgb)
        keep = times >= start_s - 1e-6
        self._times, self._rgb = [times[keep]], [rgb[keep]]
