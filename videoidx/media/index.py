"""The frame index of a video: every frame's presentation time and the codec keyframes.

ffmpeg lists the packets of the chosen video stream without decoding them (``-c copy -f
framecrc``: one line per packet with its pts, duration and key flag), which is as fast as
decord's own index and gives the same times on every test file. It is ffmpeg's and not decord's
because decord cannot be told which stream to read (it takes the highest-bitrate one), while
every ffmpeg reader maps the chosen stream explicitly; so the index, the decode pass, the clip
cutter and the offline indexer all see the same stream.

``pts_s`` are the packet times on ffmpeg's own output timeline (the container's start time
subtracted), which is the timeline the decode pass reports frame times on, so a decoded frame is
matched to its index entry by its timestamp, never by its position in the pipe. ``times_s`` are
the same times with the first frame at 0 (videoidx's absolute times).
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videoidx.errors import CorruptVideoError, EmptyVideoError, FFmpegError
from videoidx.media.ffmpeg_bin import ffmpeg_exe, stderr_tail

# A packet list that stops with one of these was cut short: the file is truncated.
_TRUNCATED = ("partial file", "Truncated", "truncated")


@dataclass(frozen=True)
class FrameIndex:
    """Per-frame times of one stream of one file, in display order."""

    stream: int
    """Container index of the stream (``-map 0:<stream>``)."""
    pts_s: np.ndarray
    """Frame start times on ffmpeg's output timeline (what the decode pass reports)."""
    durations_s: np.ndarray
    keyframes: np.ndarray
    """Indices (into the display order) of the codec keyframes."""

    @property
    def times_s(self) -> np.ndarray:
        """Frame start times with the first frame at 0."""
        return self.pts_s - self.pts_s[0] if len(self.pts_s) else self.pts_s

    @property
    def duration_s(self) -> float:
        """From the first frame's start to the last frame's end."""
        if not len(self.pts_s):
            return 0.0
        return float(self.pts_s[-1] + self.durations_s[-1] - self.pts_s[0])

    def position_of(self, pts_s: np.ndarray) -> np.ndarray:
        """Index of the frame each of ``pts_s`` is (-1 where no frame is that close)."""
        n = len(self.pts_s)
        if n == 0:
            return np.full(len(pts_s), -1, dtype=np.int64)
        right = np.clip(np.searchsorted(self.pts_s, pts_s), 0, n - 1)
        left = np.clip(right - 1, 0, n - 1)
        pick = np.where(
            np.abs(self.pts_s[left] - pts_s) <= np.abs(self.pts_s[right] - pts_s), left, right
        )
        # Within half the frame's own spacing to its neighbours: a decoded frame is never taken
        # for its neighbour, whatever the frame rate.
        gaps = np.diff(self.pts_s)
        before = np.concatenate([[np.inf], gaps])[pick]
        after = np.concatenate([gaps, [np.inf]])[pick]
        spacing = np.minimum(before, after)
        tol = np.where(np.isfinite(spacing), spacing / 2, self.durations_s[pick] / 2 + 1e-3)
        ok = np.abs(self.pts_s[pick] - pts_s) <= np.maximum(tol, 1e-6)
        return np.where(ok, pick, -1).astype(np.int64)


def parse_packets(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pts_s, durations_s, keyframes) in display order from ``-f framecrc`` output."""
    tb = 1.0
    pts: list[int] = []
    durs: list[int] = []
    keys: list[bool] = []
    for line in text.splitlines():
        if line.startswith("#tb 0:"):
            num, den = line.split(":", 1)[1].strip().split("/")
            tb = int(num) / int(den)
        elif line[:1].isdigit():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 6:
                continue
            pts.append(int(parts[2]))
            durs.append(int(parts[3]))
            # framecrc prints the flags only when they are not "keyframe".
            keys.append(not any(p.startswith("F=") for p in parts[6:]))
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    pts_s = np.asarray(pts, dtype=np.float64)[order] * tb
    durations_s = np.asarray(durs, dtype=np.float64)[order] * tb
    keyframes = np.nonzero(np.asarray(keys, dtype=bool)[order])[0].astype(np.int64)
    return pts_s, durations_s, keyframes


@functools.lru_cache(maxsize=8)
def _build(path: str, stream: int, exe: str, size: int, mtime_ns: int) -> FrameIndex:
    cmd = [exe, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning"]
    cmd += ["-i", path, "-map", f"0:{stream}", "-c", "copy", "-copyinkf", "-f", "framecrc", "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FFmpegError(f"indexing the frames of {path}: cannot run ffmpeg ({exc})") from exc
    pts_s, durations_s, keyframes = parse_packets(proc.stdout.decode("utf-8", "replace"))
    stderr = proc.stderr.decode("utf-8", "replace")
    if any(mark in stderr for mark in _TRUNCATED):
        end = f"{pts_s[-1] - pts_s[0]:.1f} s" if len(pts_s) else "its start"
        raise CorruptVideoError(
            f"{path} is truncated: its data ends at {end}, before the end its index promises "
            f"(ffmpeg: {stderr_tail(stderr, 1)}); re-copy or re-export the file"
        )
    if len(pts_s) == 0:
        if proc.returncode != 0:
            raise CorruptVideoError(
                f"{path}: the video stream cannot be read ({stderr_tail(stderr, 2)}); the file "
                "is truncated or damaged: re-copy or re-export it"
            )
        raise EmptyVideoError(f"{path} has a video stream with no frames; re-export the video")
    return FrameIndex(stream=stream, pts_s=pts_s, durations_s=durations_s, keyframes=keyframes)


def build_frame_index(path: str | Path, stream: int, ffmpeg_path: str | None = None) -> FrameIndex:
    """The index of stream ``stream`` of ``path`` (cached per file version)."""
    st = Path(path).stat()
    return _build(str(path), stream, ffmpeg_exe(ffmpeg_path), st.st_size, st.st_mtime_ns)
