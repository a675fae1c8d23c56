"""Stream decoded frames out of ffmpeg, in display order, with their index and absolute time.

One ffmpeg process decodes the file (2 threads), applies rotation (ffmpeg auto-rotates), scales
to the sampling size in the same pass (``fast_bilinear``: it costs almost nothing next to the
decode) and writes raw YUV 4:2:0 to a pipe. YUV is half the bytes of RGB; frames are turned into
RGB only when they are kept, and a 64x36 RGB thumbnail of *every* frame is taken by striding the
planes, which is what the shot detector scores. So shots and sampling share one decode pass.

Frame indices and times come from decord's index of the file (``frame_index``), so frame ``i``
of the pipe is decord's frame ``i`` and ``time_s`` is normalised to the first displayed frame.
Decode errors are counted from ffmpeg's stderr; a stream that ends early or keeps erroring raises
:class:`~videoidx.errors.CorruptVideoError` naming the time where it broke.
"""

from __future__ import annotations

import functools
import logging
import queue
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videoidx.errors import CorruptVideoError, FFmpegError
from videoidx.media.ffmpeg_bin import ffmpeg_exe, stderr_tail
from videoidx.types import VideoInfo

log = logging.getLogger(__name__)

SMALL_W, SMALL_H = 64, 36
BATCH_FRAMES = 64
# Decode-error lines tolerated before a stream counts as damaged: real files carry a few glitches.
MAX_DECODE_ERRORS = 8
DECODE_THREADS = 2


@dataclass(frozen=True)
class FrameIndex:
    """Per-frame start times (s, first frame 0) and codec keyframe indices of one file."""

    times_s: np.ndarray
    keyframes: np.ndarray


@functools.lru_cache(maxsize=8)
def _frame_index(path: str, size: int, mtime_ns: int) -> FrameIndex:
    from videoidx.media.probe import frame_times, open_reader

    reader = open_reader(Path(path))
    times = frame_times(reader)
    keys = np.asarray(reader.get_key_indices(), dtype=np.int64)
    del reader
    return FrameIndex(times_s=times, keyframes=np.unique(keys))


def frame_index(info: VideoInfo) -> FrameIndex:
    """decord's index of ``info.path`` (cached per file version)."""
    st = Path(info.path).stat()
    return _frame_index(info.path, st.st_size, st.st_mtime_ns)


@dataclass
class FrameBatch:
    """Consecutive decoded frames: index, time, a 64x36 RGB thumbnail and the raw YUV planes."""

    indices: np.ndarray
    times_s: np.ndarray
    small: np.ndarray
    """uint8, N x 36 x 64 x 3 RGB."""
    yuv: np.ndarray
    """uint8, N x (W*H*3/2): I420 frames at the decode size."""
    width: int
    height: int

    def rgb(self, k: int) -> np.ndarray:
        """Frame ``k`` of the batch as H x W x 3 uint8 RGB."""
        return yuv420_to_rgb(self.yuv[k], self.width, self.height)


def even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def yuv420_to_rgb(buf: np.ndarray, w: int, h: int) -> np.ndarray:
    """BT.601 limited-range I420 to RGB (what ffmpeg's own conversion would give, within 1-2)."""
    y = buf[: w * h].reshape(h, w).astype(np.float32)
    u = buf[w * h : w * h + (w // 2) * (h // 2)].reshape(h // 2, w // 2).astype(np.float32)
    v = buf[w * h + (w // 2) * (h // 2) :].reshape(h // 2, w // 2).astype(np.float32)
    u = np.repeat(np.repeat(u, 2, axis=0), 2, axis=1) - 128.0
    v = np.repeat(np.repeat(v, 2, axis=0), 2, axis=1) - 128.0
    y = (y - 16.0) * 1.164
    rgb = np.stack([y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u], axis=-1)
    out: np.ndarray = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return out


def _small_grid(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    ys = np.linspace(0, h - 2, SMALL_H).astype(np.int64) // 2 * 2
    xs = np.linspace(0, w - 2, SMALL_W).astype(np.int64) // 2 * 2
    return ys, xs


def small_from_yuv(frames: np.ndarray, w: int, h: int) -> np.ndarray:
    """64x36 RGB thumbnails of N I420 frames, by striding the planes (no filtering: it is cheap)."""
    n = len(frames)
    ys, xs = _small_grid(w, h)
    y = frames[:, : w * h].reshape(n, h, w)[:, ys][:, :, xs].astype(np.float32)
    cw, ch = w // 2, h // 2
    u = frames[:, w * h : w * h + cw * ch].reshape(n, ch, cw)[:, ys // 2][:, :, xs // 2]
    v = frames[:, w * h + cw * ch :].reshape(n, ch, cw)[:, ys // 2][:, :, xs // 2]
    uf, vf = u.astype(np.float32) - 128.0, v.astype(np.float32) - 128.0
    yf = (y - 16.0) * 1.164
    rgb = np.stack([yf + 1.596 * vf, yf - 0.392 * uf - 0.813 * vf, yf + 2.017 * uf], axis=-1)
    out: np.ndarray = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return out


class _StderrWatcher(threading.Thread):
    """Drains ffmpeg's stderr (so it never blocks) and counts decode errors."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True, name="videoidx-ffmpeg-stderr")
        self.stream = stream
        self.errors = 0
        self.tail: list[str] = []

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):  # type: ignore[attr-defined]
            line = raw.decode("utf-8", "replace").rstrip()
            # Muxer notes about VFR timestamps are not damage; only decoder complaints count.
            if not line or "to muxer" in line:
                continue
            self.errors += 1
            self.tail = [*self.tail[-5:], line]


class _PipeReader(threading.Thread):
    """Reads fixed-size chunks from ffmpeg's stdout into a short queue."""

    def __init__(self, stream: Any, chunk_bytes: int, depth: int = 3) -> None:
        super().__init__(daemon=True, name="videoidx-ffmpeg-stdout")
        self.stream = stream
        self.chunk_bytes = chunk_bytes
        self.chunks: queue.Queue[tuple[bytearray, int]] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            buf = bytearray(self.chunk_bytes)
            view = memoryview(buf)
            got = 0
            try:
                while got < len(buf):
                    n = self.stream.readinto(view[got:])
                    if not n:
                        break
                    got += n
            except (OSError, ValueError):  # closed under us during shutdown
                got = 0
            while not self.stop.is_set():
                try:
                    self.chunks.put((buf, got), timeout=0.2)
                    break
                except queue.Full:
                    continue
            if got < len(buf):
                return


def decode_command(
    info: VideoInfo,
    width: int,
    height: int,
    *,
    keyframes_only: bool = False,
    start_s: float | None = None,
    ffmpeg_path: str | None = None,
) -> list[str]:
    """The ffmpeg command that writes I420 frames at ``width`` x ``height`` to stdout."""
    cmd = [ffmpeg_exe(ffmpeg_path), "-hide_banner", "-nostdin", "-loglevel", "error"]
    cmd += ["-threads", str(DECODE_THREADS)]
    if keyframes_only:
        cmd += ["-skip_frame", "nokey"]
    if start_s:
        # Accurate input seek: decodes from the keyframe before and drops frames before start_s.
        cmd += ["-ss", f"{start_s:.6f}"]
    cmd += ["-i", info.path, "-an", "-sn", "-dn", "-map", "0:v:0"]
    cmd += ["-vf", f"scale={width}:{height}:flags=fast_bilinear,format=yuv420p"]
    cmd += ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]
    return cmd


def iter_frames(
    info: VideoInfo,
    width: int,
    height: int,
    *,
    keyframes_only: bool = False,
    start_s: float = 0.0,
    ffmpeg_path: str | None = None,
    batch_frames: int = BATCH_FRAMES,
) -> Iterator[FrameBatch]:
    """Decode the whole file once, yielding batches of consecutive frames in display order.

    With ``keyframes_only`` only codec keyframes are decoded (``-skip_frame nokey``); their
    indices are decord's key indices. ``start_s`` > 0 starts at the first frame at or after it.
    """
    width, height = even(width), even(height)
    index = frame_index(info)
    expected = index.keyframes if keyframes_only else np.arange(len(index.times_s))
    seek_s = 0.0
    if start_s > 0 and not keyframes_only:
        first = int(np.searchsorted(index.times_s, start_s - 1e-6))
        expected = expected[first:]
        if first > 0 and first < len(index.times_s):
            # Half a frame early, so float rounding can never drop the wanted first frame.
            half = (index.times_s[first] - index.times_s[first - 1]) / 2
            seek_s = float(index.times_s[first] - half)
    frame_bytes = width * height * 3 // 2
    cmd = decode_command(
        info,
        width,
        height,
        keyframes_only=keyframes_only,
        start_s=seek_s or None,
        ffmpeg_path=ffmpeg_path,
    )
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=frame_bytes * 4
        )
    except OSError as exc:
        raise FFmpegError(f"decoding {info.path}: cannot start ffmpeg ({exc})") from exc
    assert proc.stdout is not None and proc.stderr is not None
    watcher = _StderrWatcher(proc.stderr)
    watcher.start()
    # A reader thread keeps the pipe drained while this thread scores and samples, so ffmpeg's
    # decode never waits on Python (with 2 cores that overlap is most of the speed).
    reader = _PipeReader(proc.stdout, frame_bytes * batch_frames)
    reader.start()
    done = 0
    try:
        while True:
            buf, got = reader.chunks.get()
            count = got // frame_bytes
            if count:
                frames = np.frombuffer(buf, dtype=np.uint8, count=count * frame_bytes)
                frames = frames.reshape(count, frame_bytes)
                pos = expected[done : done + count]
                if len(pos) < count:  # more frames than the index knows: ignore the surplus
                    frames, count = frames[: len(pos)], len(pos)
                if count:
                    yield FrameBatch(
                        indices=pos,
                        times_s=index.times_s[pos],
                        small=small_from_yuv(frames, width, height),
                        yuv=frames,
                        width=width,
                        height=height,
                    )
                done += count
                if watcher.errors > MAX_DECODE_ERRORS:
                    break
            if got < len(buf):
                break
    finally:
        reader.stop.set()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(timeout=5)
        watcher.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    _check_complete(info, index, expected, done, watcher, proc.returncode)


def _check_complete(
    info: VideoInfo,
    index: FrameIndex,
    expected: np.ndarray,
    done: int,
    watcher: _StderrWatcher,
    returncode: int,
) -> None:
    tail = stderr_tail("\n".join(watcher.tail), 3)
    missing = len(expected) - done
    if watcher.errors > MAX_DECODE_ERRORS or (missing > max(2, len(expected) // 100)):
        at = float(index.times_s[expected[done]]) if done < len(expected) else info.duration_s
        raise CorruptVideoError(
            f"{info.path} is damaged: decoding failed near {at:.1f} s "
            f"({done} of {len(expected)} frames read; ffmpeg: {tail or f'exit {returncode}'}); "
            "re-copy or re-export the file"
        )
    if watcher.errors:
        log.warning("%s: %d decode warnings (%s)", info.path, watcher.errors, tail)
