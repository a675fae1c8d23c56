"""Stream decoded frames out of ffmpeg, in display order, with their index and absolute time.

One ffmpeg process decodes the file (2 threads), applies rotation (ffmpeg auto-rotates), scales
to the sampling size in the same pass (``fast_bilinear``: it costs almost nothing next to the
decode) and writes raw YUV 4:2:0 to a pipe. YUV is half the bytes of RGB; frames are turned into
RGB only when they are kept. Below each picture ffmpeg stacks a 128x72 *analysis* picture of the
same frame, scaled by area averaging (SIMD code in ffmpeg; the same in numpy would cost more than
the rest of the pass): every frame's colour on a 64x36 grid and its local contrast, which is what
the shot detector scores and the sampler's duplicate test compares. So shots and sampling share
one decode pass and one pipe, and the two pictures of a frame can never drift apart.

Frame indices and times come from the file's frame index (``media.index``), and each decoded
frame is matched to its index entry by its own timestamp (``showinfo`` prints every frame's pts on
stderr), never by its position in the pipe: ffmpeg silently drops frames it cannot decode (a lost
first GOP, a damaged run in the middle), and counting would shift every later frame onto the wrong
time. Frames the index has but the decoder never gave are reported as damaged spans, with their
real times. Decode errors are counted from ffmpeg's stderr; a stream that keeps erroring stops
the pass with :class:`~videoidx.errors.CorruptVideoError` naming where the damage starts.
"""

from __future__ import annotations

import logging
import queue
import re
import subprocess
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from videoidx.errors import CorruptVideoError, DamagedFramesError, FFmpegError
from videoidx.media.ffmpeg_bin import ffmpeg_exe, stderr_tail
from videoidx.media.index import FrameIndex, build_frame_index
from videoidx.types import VideoInfo

log = logging.getLogger(__name__)

# The analysis picture under each frame (area-scaled), and the grid it is reduced to.
ANALYSIS_W, ANALYSIS_H = 128, 72
GRID_W, GRID_H = ANALYSIS_W // 2, ANALYSIS_H // 2
# Local contrast is a standard deviation (0-128); scaled so it spans about the same 0-255 range.
CONTRAST_GAIN = 4.0
BATCH_FRAMES = 64
CHUNK_BYTES = 16 * 1024 * 1024
"""Most bytes one batch of frames may hold. The reader keeps up to five chunks (three queued, one
filling, one being scored): 64 frames of the 896 px text-reading size were 45 MB a chunk, 225 MB
of a run's memory, where 16 MB chunks hold 23 of them. Frames of the 448 px scan size still come
64 at a time: 8 MB chunks (44 of them) cost 6% more CPU on the 10-minute 720p benchmark."""
# Decode-error lines tolerated before a stream counts as damaged: real files carry a few glitches.
MAX_DECODE_ERRORS = 8
DECODE_THREADS = 2


def frame_index(info: VideoInfo, ffmpeg_path: str | None = None) -> FrameIndex:
    """The frame index of ``info``'s chosen video stream (cached per file version)."""
    from videoidx.media.probe import stream_facts

    stream = stream_facts(info.path, ffmpeg_path).stream_index
    return build_frame_index(info.path, stream, ffmpeg_path)


@dataclass
class FrameBatch:
    """Consecutive decoded frames: index, time, analysis planes and the raw stacked YUV."""

    indices: np.ndarray
    times_s: np.ndarray
    analysis: np.ndarray
    """float32, N x 4 x 36 x 64: mean Y, U, V (0-255) per grid cell, and Y's local contrast."""
    yuv: np.ndarray
    """uint8, N x bytes: I420 pictures of ``stride`` x (``height`` + 72), the analysis below."""
    width: int
    height: int
    stride: int = 0

    def rgb(self, k: int) -> np.ndarray:
        """Frame ``k`` of the batch as H x W x 3 uint8 RGB."""
        y, u, v = picture_planes(self.yuv[k], self.stride or self.width, self.height)
        return planes_to_rgb(y[:, : self.width], u[:, : self.width // 2], v[:, : self.width // 2])

    def thumb(self, k: int) -> np.ndarray:
        """Frame ``k`` as a 64x36 uint8 RGB thumbnail (cell means; for duplicate tests)."""
        a = self.analysis[k]
        return planes_to_rgb(a[0], a[1], a[2])

    def small_rgb(self, ks: np.ndarray) -> np.ndarray:
        """Frames ``ks`` as their 128x72 analysis pictures, ``(len(ks), 72, 128, 3)`` uint8 RGB.

        Area-scaled from the decoded frame to 16:9 whatever the video's shape: measures of
        whole-picture change and colour, not of geometry, are what they are for."""
        frames = self.yuv[ks]
        n, stride = len(frames), self.stride or self.width
        rows = frames.shape[1] * 2 // (stride * 3)  # the picture (if any), then the analysis
        above = rows - ANALYSIS_H
        y = frames[:, : stride * rows].reshape(n, rows, stride)[:, above:, :ANALYSIS_W]
        chroma = stride * rows
        cw, cr = stride // 2, rows // 2
        u = frames[:, chroma : chroma + cw * cr].reshape(n, cr, cw)[:, above // 2 :, :GRID_W]
        v = frames[:, chroma + cw * cr : chroma + 2 * cw * cr].reshape(n, cr, cw)
        return planes_to_rgb(y, u, v[:, above // 2 :, :GRID_W])


def even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def planes_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """BT.601 limited-range Y, U, V planes to RGB; chroma planes may be half size (4:2:0).

    The planes are the last two axes; any leading axes (a batch of frames) are kept."""
    y = y.astype(np.float32)
    u = u.astype(np.float32) - 128.0
    v = v.astype(np.float32) - 128.0
    if u.shape != y.shape:
        h, w = y.shape[-2:]
        u = np.repeat(np.repeat(u, 2, axis=-2), 2, axis=-1)[..., :h, :w]
        v = np.repeat(np.repeat(v, 2, axis=-2), 2, axis=-1)[..., :h, :w]
    y = (y - 16.0) * 1.164
    rgb = np.stack([y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u], axis=-1)
    out: np.ndarray = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return out


def yuv420_to_rgb(buf: np.ndarray, w: int, h: int) -> np.ndarray:
    """BT.601 limited-range I420 to RGB (what ffmpeg's own conversion would give, within 1-2)."""
    return planes_to_rgb(*picture_planes(buf, w, h))


def picture_planes(buf: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U and V planes of the top ``h`` rows of an I420 buffer ``w`` pixels wide."""
    rows = len(buf) * 2 // (w * 3)  # the buffer may hold more rows (the analysis picture)
    cw, cr = w // 2, rows // 2
    y = buf[: w * h].reshape(h, w)
    u = buf[w * rows : w * rows + cw * cr].reshape(cr, cw)[: h // 2]
    v = buf[w * rows + cw * cr : w * rows + 2 * cw * cr].reshape(cr, cw)[: h // 2]
    return y, u, v


def analysis_planes(frames: np.ndarray, stride: int, height: int) -> np.ndarray:
    """The analysis planes (N x 4 x 36 x 64 float32) of N stacked I420 buffers.

    Y, U and V are the means of 2x2 analysis pixels (U and V are already that size in 4:2:0);
    the fourth plane is the local contrast: the standard deviation of the four Y values, which
    stays put when a fine texture moves and drops to zero when a flat picture replaces it.
    """
    n = len(frames)
    rows = height + ANALYSIS_H
    cw, cr = stride // 2, rows // 2
    y = frames[:, : stride * rows].reshape(n, rows, stride)[:, height:, :ANALYSIS_W]
    y = y.astype(np.float32)
    # Sums over 2x2 blocks by adding the four interleaved quarters (a reshape-mean over strided
    # axes costs ten times more, on every frame of every video).
    quarters = (y[:, 0::2, 0::2], y[:, 1::2, 0::2], y[:, 0::2, 1::2], y[:, 1::2, 1::2])
    out = np.empty((n, 4, GRID_H, GRID_W), dtype=np.float32)
    total, squares = out[:, 0], out[:, 3]
    np.add(quarters[0], quarters[1], out=total)
    total += quarters[2]
    total += quarters[3]
    np.square(quarters[0], out=squares)
    for q in quarters[1:]:
        squares += np.square(q)
    total *= 0.25
    # variance = E[y^2] - E[y]^2, then the standard deviation, scaled
    squares *= 0.25
    squares -= np.square(total)
    np.maximum(squares, 0.0, out=squares)
    np.sqrt(squares, out=squares)
    squares *= CONTRAST_GAIN
    for plane, start in ((1, stride * rows), (2, stride * rows + cw * cr)):
        chroma = frames[:, start : start + cw * cr].reshape(n, cr, cw)
        out[:, plane] = chroma[:, height // 2 :, :GRID_W]
    contrast = out[:, 3]
    np.minimum(contrast, 255.0, out=contrast)
    return out


_SHOWINFO_TB = re.compile(r"Parsed_showinfo.*config in time_base:\s*(\d+)/(\d+)")
_SHOWINFO_PTS = re.compile(r"Parsed_showinfo.*\bn:\s*\d+\s+pts:\s*(-?\d+)")
# With ``-loglevel level+info`` every line carries its level; these are the decoder complaints.
_ERROR_LEVELS = ("[error]", "[fatal]", "[panic]")


class _StderrWatcher(threading.Thread):
    """Drains ffmpeg's stderr (so it never blocks): each frame's pts, and the decode errors."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True, name="videoidx-ffmpeg-stderr")
        self.stream = stream
        self.errors = 0
        self.tail: list[str] = []
        self.pts_s: list[float] = []
        self.ended = False
        self.progress = threading.Condition()
        self._tb = 0.0

    def run(self) -> None:
        try:
            for raw in iter(self.stream.readline, b""):  # type: ignore[attr-defined]
                self._line(raw.decode("utf-8", "replace").rstrip())
        finally:
            with self.progress:
                self.ended = True
                self.progress.notify_all()

    def _line(self, line: str) -> None:
        if m := _SHOWINFO_PTS.search(line):
            with self.progress:
                self.pts_s.append(int(m.group(1)) * self._tb)
                self.progress.notify_all()
        elif m := _SHOWINFO_TB.search(line):
            if int(m.group(2)):
                self._tb = int(m.group(1)) / int(m.group(2))
        # Muxer notes about VFR timestamps are not damage; only decoder complaints count.
        elif any(level in line for level in _ERROR_LEVELS) and "to muxer" not in line:
            self.errors += 1
            self.tail = [*self.tail[-5:], re.sub(r"\[(error|fatal|panic)\] ", "", line)]

    def frame_pts(self, count: int, timeout_s: float = 30.0) -> list[float]:
        """The pts of the first ``count`` frames, waiting for their stderr lines if needed."""
        with self.progress:
            self.progress.wait_for(lambda: len(self.pts_s) >= count or self.ended, timeout_s)
            return self.pts_s[:count]


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
    stream: int = 0,
    ffmpeg_path: str | None = None,
    skip_loop_filter: bool = False,
    picture: bool = True,
) -> list[str]:
    """The ffmpeg command that writes stacked I420 pictures (see :func:`stacked_size`).

    Without ``picture`` only the analysis picture is written (what shot detection alone needs:
    a fifteenth of the bytes), computed exactly as under a picture, so the cuts are the same.
    """
    # ``level+info``: showinfo's per-frame lines are info; errors stay recognisable by level.
    cmd = [ffmpeg_exe(ffmpeg_path), "-hide_banner", "-nostdin", "-nostats"]
    cmd += ["-loglevel", "level+info", "-threads", str(DECODE_THREADS)]
    if keyframes_only:
        cmd += ["-skip_frame", "nokey"]
    if skip_loop_filter:
        cmd += ["-skip_loop_filter", "all"]
    if start_s:
        # Accurate input seek: decodes from the keyframe before and drops frames before start_s.
        cmd += ["-ss", f"{start_s:.6f}"]
    cmd += ["-i", info.path]
    stride, _ = stacked_size(width, height, picture)
    pad = f",pad={stride}:{height}" if stride > width else ""
    graph = (
        f"[0:{stream}]scale={width}:{height}:flags=fast_bilinear,format=yuv420p,"
        f"showinfo=checksum=0,scale={ANALYSIS_W}:{ANALYSIS_H}:flags=area,setsar=1[out]"
    )
    if picture:
        graph = (
            f"[0:{stream}]scale={width}:{height}:flags=fast_bilinear,format=yuv420p,"
            "showinfo=checksum=0,split=2[full][small];"
            f"[small]scale={ANALYSIS_W}:{ANALYSIS_H}:flags=area,setsar=1,pad={stride}:{ANALYSIS_H}"
            f"[analysis];[full]setsar=1{pad}[picture];[picture][analysis]vstack=inputs=2[out]"
        )
    cmd += ["-filter_complex", graph, "-map", "[out]"]
    cmd += ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]
    return cmd


def stacked_size(width: int, height: int, picture: bool = True) -> tuple[int, int]:
    """Width and height of the stacked picture: the frame above its analysis picture."""
    if not picture:
        return ANALYSIS_W, ANALYSIS_H
    return max(width, ANALYSIS_W), height + ANALYSIS_H


@dataclass
class DecodeReport:
    """What a finished decode pass could not read: spans of frames the decoder never gave."""

    spans_s: list[tuple[float, float]]
    frames_missing: int
    message: str = ""


def iter_frames(
    info: VideoInfo,
    width: int,
    height: int,
    *,
    keyframes_only: bool = False,
    start_s: float = 0.0,
    ffmpeg_path: str | None = None,
    batch_frames: int = BATCH_FRAMES,
    report: list[DecodeReport] | None = None,
    skip_loop_filter: bool = False,
    picture: bool = True,
) -> Generator[FrameBatch, None, None]:
    """Decode the whole file once, yielding batches of decoded frames in display order.

    With ``keyframes_only`` only codec keyframes are decoded (``-skip_frame nokey``). ``start_s``
    > 0 starts at the first frame at or after it. Each frame's index and time come from its own
    timestamp. Frames that could not be decoded are missing from the batches: when more than a
    few are, the pass raises :class:`DamagedFramesError` at its end naming the spans, or, when
    ``report`` is given, appends a :class:`DecodeReport` to it instead (so a caller can finish
    its own work first). A stream that keeps erroring stops the pass with CorruptVideoError.
    ``skip_loop_filter`` skips H.264/HEVC deblocking (faster; invisible at analysis sizes).
    Without ``picture`` the batches carry only the analysis planes (``rgb`` is unavailable).
    """
    width, height = even(width), even(height)
    index = frame_index(info, ffmpeg_path)
    times = index.times_s
    expected = index.keyframes if keyframes_only else np.arange(len(times))
    seek_s = 0.0
    if start_s > 0 and not keyframes_only:
        first = int(np.searchsorted(times, start_s - 1e-6))
        expected = expected[first:]
        if first > 0 and first < len(times):
            # Half a frame early, so float rounding can never drop the wanted first frame.
            half = (times[first] - times[first - 1]) / 2
            seek_s = float(f"{times[first] - half:.6f}")
    stride, rows = stacked_size(width, height, picture)
    above = height if picture else 0  # rows of picture above the analysis picture
    frame_bytes = stride * rows * 3 // 2
    cmd = decode_command(
        info,
        width,
        height,
        keyframes_only=keyframes_only,
        start_s=seek_s or None,
        stream=index.stream,
        ffmpeg_path=ffmpeg_path,
        skip_loop_filter=skip_loop_filter,
        picture=picture,
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
    batch_frames = max(1, min(batch_frames, CHUNK_BYTES // frame_bytes))
    reader = _PipeReader(proc.stdout, frame_bytes * batch_frames)
    reader.start()
    wanted = np.zeros(len(times), dtype=bool)
    wanted[expected] = True
    seen = np.zeros(len(times), dtype=bool)
    received = 0
    stopped = False
    try:
        while True:
            buf, got = reader.chunks.get()
            count = got // frame_bytes
            if count:
                frames = np.frombuffer(buf, dtype=np.uint8, count=count * frame_bytes)
                frames = frames.reshape(count, frame_bytes)
                pts = watcher.frame_pts(received + count)[received:]
                received += count
                if len(pts) < count:
                    raise FFmpegError(
                        f"decoding {info.path}: ffmpeg gave {count - len(pts)} frames without "
                        "their timestamps; check that VIDEOIDX_FFMPEG_PATH is ffmpeg 5 or newer"
                    )
                # The pts are on the decoder's timeline, which starts at the seek point.
                pos = index.position_of(np.asarray(pts, dtype=np.float64) + seek_s)
                ok = pos >= 0
                ok[ok] &= wanted[pos[ok]] & ~seen[pos[ok]]  # unknown, unwanted, repeated
                if not ok.all():  # a masked index copies the whole chunk: only when needed
                    pos, frames = pos[ok], frames[ok]
                seen[pos] = True
                if len(pos):
                    yield FrameBatch(
                        indices=pos,
                        times_s=times[pos],
                        analysis=analysis_planes(frames, stride, above),
                        yuv=frames,
                        width=width,
                        height=height,
                        stride=stride,
                    )
                if watcher.errors > MAX_DECODE_ERRORS:
                    stopped = True
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
    found = _check_complete(info, index, expected, seen, watcher, proc.returncode, stopped)
    if found is not None:
        if report is None:
            raise DamagedFramesError(found.message, tuple(found.spans_s))
        report.append(found)


def missing_spans(
    index: FrameIndex, expected: np.ndarray, seen: np.ndarray
) -> list[tuple[int, int]]:
    """[first, last] positions in ``expected`` of each run of frames that were never decoded."""
    lost = ~seen[expected]
    spans: list[tuple[int, int]] = []
    k = 0
    while k < len(lost):
        if lost[k]:
            j = k
            while j + 1 < len(lost) and lost[j + 1]:
                j += 1
            spans.append((k, j))
            k = j + 1
        else:
            k += 1
    return spans


def _check_complete(
    info: VideoInfo,
    index: FrameIndex,
    expected: np.ndarray,
    seen: np.ndarray,
    watcher: _StderrWatcher,
    returncode: int,
    stopped: bool,
) -> DecodeReport | None:
    tail = stderr_tail("\n".join(watcher.tail), 3)
    said = f"; ffmpeg: {tail}" if tail else f"; ffmpeg exited {returncode} with no error"
    times = index.times_s
    runs = missing_spans(index, expected, seen)
    missing = sum(j - k + 1 for k, j in runs)
    got = len(expected) - missing

    def end_of(j: int) -> float:
        # A span ends where the next expected frame starts (or at the end of the video).
        return float(times[expected[j + 1]]) if j + 1 < len(expected) else index.duration_s

    spans = [(float(times[expected[k]]), end_of(j)) for k, j in runs]
    if stopped:
        at = spans[0][0] if spans else info.duration_s
        raise CorruptVideoError(
            f"{info.path} is damaged: decoding failed near {at:.1f} s "
            f"({got} of {len(expected)} frames read{said}); "
            "re-copy or re-export the file"
        )
    if missing > max(2, len(expected) // 100):
        where = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in spans[:5])
        more = f" and {len(spans) - 5} more" if len(spans) > 5 else ""
        return DecodeReport(
            spans_s=spans,
            frames_missing=missing,
            message=(
                f"{info.path} is damaged: {missing} of {len(expected)} frames cannot be decoded, "
                f"at {where}{more}{said}; every other frame was read at its own time; "
                "re-copy or re-export the file to read those parts"
            ),
        )
    if missing or watcher.errors:
        log.warning(
            "%s: %d frames not decoded, %d decode warnings (%s)",
            info.path,
            missing,
            watcher.errors,
            tail,
        )
    return None
