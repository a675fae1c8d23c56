"""Probe a video file: what :class:`~videoidx.types.VideoInfo` says, from decord and ffmpeg.

There is no ffprobe in the ``imageio-ffmpeg`` wheel, so the facts come from two places:

* ``ffmpeg -i FILE`` (stderr, parsed): codec, rotation (display-matrix side data or the older
  ``rotate`` tag), sample aspect ratio, audio streams, the container's start time. It also tells a
  text file or an audio-only file from a video before decord is asked to open it.
* decord's index: frame count, per-frame presentation timestamps (already normalised so the first
  frame is t = 0), keyframes.

``video_id`` is a *sampled* content hash, so probing a multi-GB file reads 3 MiB rather than every
byte: sha256 over the file size and the first, middle and last MiB, shortened to 16 hex chars.
Two files that differ only outside those windows and have the same size would share an id; for
video files (whose headers and indexes sit in the first/last MiB) that is accepted.
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videoidx.errors import (
    CorruptVideoError,
    EmptyVideoError,
    FFmpegError,
    NotAVideoError,
    VideoNotFoundError,
)
from videoidx.media.ffmpeg_bin import ffmpeg_exe, stderr_tail
from videoidx.types import VideoInfo

log = logging.getLogger(__name__)

HASH_CHUNK_BYTES = 1 << 20
VIDEO_ID_HEX = 16
# Frame-duration jitter below this is timebase rounding (e.g. Matroska's 1 ms), not VFR.
VFR_TOLERANCE_S = 0.0015
VFR_TOLERANCE_REL = 0.05


def video_id_of(path: str | Path, size_bytes: int | None = None) -> str:
    """The sampled content hash described in the module docstring."""
    path = Path(path)
    size = path.stat().st_size if size_bytes is None else size_bytes
    digest = hashlib.sha256(size.to_bytes(8, "little"))
    with path.open("rb") as fh:
        offsets = sorted(
            {0, max(0, size // 2 - HASH_CHUNK_BYTES // 2), max(0, size - HASH_CHUNK_BYTES)}
        )
        for offset in offsets:
            fh.seek(offset)
            digest.update(fh.read(HASH_CHUNK_BYTES))
    return digest.hexdigest()[:VIDEO_ID_HEX]


@dataclass(frozen=True)
class StreamFacts:
    """What ``ffmpeg -i`` says about a file's first real video stream."""

    codec: str
    coded_w: int
    coded_h: int
    sar: float
    rotation_deg: int
    nominal_fps: float | None
    start_s: float
    has_audio: bool


_VIDEO_LINE = re.compile(r"Stream #\d+:(\d+)[^:]*: Video: (.*)$")
_SIZE = re.compile(r",\s*(\d{2,5})x(\d{2,5})\b")
_SAR = re.compile(r"SAR (\d+):(\d+)")
_TBR = re.compile(r"([\d.]+)(k?) tbr")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_STREAM_START = re.compile(r"start (-?[\d.]+)")
_FORMAT_START = re.compile(r"start: (-?[\d.]+)")
_MATRIX = re.compile(r"[Dd]isplay ?[Mm]atrix: rotation of (-?[\d.]+) degrees")
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+)")


def _rate(match: re.Match[str] | None) -> float | None:
    if not match:
        return None
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    return value if value > 0 else None


def run_ffmpeg_info(path: Path, ffmpeg_path: str | None = None) -> str:
    """ffmpeg's description of ``path`` (its stderr; it exits 1 because no output is given)."""
    cmd = [ffmpeg_exe(ffmpeg_path), "-hide_banner", "-nostdin", "-i", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FFmpegError(f"probing {path}: cannot run ffmpeg ({exc})") from exc
    return proc.stderr.decode("utf-8", "replace")


def parse_ffmpeg_info(text: str, path: Path) -> StreamFacts:
    """Read the first non-cover-art video stream out of ``ffmpeg -i`` output; raise on non-video."""
    if "Invalid data found when processing input" in text or "moov atom not found" in text:
        if "moov atom not found" in text and _looks_like_mp4(path):
            raise CorruptVideoError(
                f"{path} is an MP4 without its index (moov atom): it is truncated or was not "
                "finished writing; re-copy or re-export the file"
            )
        raise NotAVideoError(
            f"{path} is not a video ffmpeg can read ({stderr_tail(text, 1)}); "
            "check that it is a video file (MP4, MKV, MOV, WebM ...)"
        )
    lines = text.splitlines()
    video_idx = None
    for i, line in enumerate(lines):
        m = _VIDEO_LINE.search(line)
        if m and "attached pic" not in line:
            video_idx = i
            break
    has_audio = any(re.search(r"Stream #\d+:\d+.*: Audio:", ln) for ln in lines)
    if video_idx is None:
        what = "audio only" if has_audio else "no video stream"
        raise NotAVideoError(f"{path} has {what}; videoidx needs a file with a video stream")
    line = lines[video_idx]
    desc = _VIDEO_LINE.search(line)
    assert desc is not None
    codec = desc.group(2).split(" ", 1)[0].rstrip(",")
    size = _SIZE.search(line)
    if not size:
        raise CorruptVideoError(f"{path}: ffmpeg reports no frame size for the video stream")
    sar_m = _SAR.search(line)
    sar = 1.0
    if sar_m and int(sar_m.group(1)) > 0 and int(sar_m.group(2)) > 0:
        sar = int(sar_m.group(1)) / int(sar_m.group(2))
    # Side data and metadata of this stream: the indented lines up to the next stream.
    rotation = 0.0
    for extra in lines[video_idx + 1 :]:
        if "Stream #" in extra:
            break
        if mm := _MATRIX.search(extra):
            # ffmpeg prints the counter-clockwise matrix angle; players rotate clockwise by -angle.
            rotation = -float(mm.group(1))
        elif mt := _ROTATE_TAG.match(extra):
            rotation = float(mt.group(1))
    stream_start = _STREAM_START.search(line.split("(default)")[0])
    format_start = _FORMAT_START.search(text)
    start_match = stream_start or format_start
    start_s = float(start_match.group(1)) if start_match else 0.0
    return StreamFacts(
        codec=codec,
        coded_w=int(size.group(1)),
        coded_h=int(size.group(2)),
        sar=sar,
        rotation_deg=round(rotation) % 360,
        nominal_fps=_rate(_TBR.search(line)) or _rate(_FPS.search(line)),
        start_s=max(0.0, start_s),
        has_audio=has_audio,
    )


def _looks_like_mp4(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[4:8] in {b"ftyp", b"mdat", b"moov", b"free", b"wide"}


def check_file(path: str | Path) -> Path:
    """Raise the right error for a missing or empty path; return it as a Path."""
    p = Path(path)
    if not p.exists():
        raise VideoNotFoundError(f"{p} does not exist; check the path")
    if not p.is_file():
        raise VideoNotFoundError(f"{p} is not a file; give the path of a video file")
    if p.stat().st_size == 0:
        raise EmptyVideoError(f"{p} is empty (0 bytes); re-copy or re-export the video")
    return p


def open_reader(path: Path, **kwargs: Any) -> Any:
    """A decord VideoReader, with decord's generic errors translated."""
    import decord

    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0), **kwargs)
    except (decord.DECORDError, RuntimeError) as exc:
        raise CorruptVideoError(
            f"{path} cannot be decoded ({_decord_reason(exc)}); the file is truncated "
            "or damaged: re-copy or re-export it"
        ) from exc


def _decord_reason(exc: Exception) -> str:
    """decord's message without its source-file prefixes."""
    first = (str(exc).splitlines() or [""])[0]
    return first.rsplit("] ", 1)[-1].strip()[:160] or type(exc).__name__


def frame_times(reader: Any) -> np.ndarray:
    """Presentation start time of every frame (seconds, first frame at 0), in display order."""
    n = len(reader)
    if n == 0:
        return np.zeros(0)
    ts = np.asarray(reader.get_frame_timestamp(range(n)), dtype=np.float64)
    starts = ts[:, 0] - ts[0, 0]
    return starts


def probe(path: str | Path, *, ffmpeg_path: str | None = None) -> VideoInfo:
    """What a video is: duration, rates, display size, rotation, codec, audio and ``video_id``."""
    p = check_file(path)
    size_bytes = p.stat().st_size
    facts = parse_ffmpeg_info(run_ffmpeg_info(p, ffmpeg_path), p)
    reader = open_reader(p)
    n = len(reader)
    if n == 0:
        raise EmptyVideoError(f"{p} has a video stream with no frames; re-export the video")
    ts = np.asarray(reader.get_frame_timestamp(range(n)), dtype=np.float64)
    starts = ts[:, 0] - ts[0, 0]
    duration_s = float(ts[-1, 1] - ts[0, 0])
    deltas = np.diff(starts)
    median = float(np.median(deltas)) if len(deltas) else 0.0
    vfr = bool(
        len(deltas) > 1
        and np.max(np.abs(deltas - median)) > max(VFR_TOLERANCE_S, VFR_TOLERANCE_REL * median)
    )
    fps_avg = n / duration_s if duration_s > 0 else float(reader.get_avg_fps())
    nominal = facts.nominal_fps
    if nominal is None or nominal > 240 or vfr:
        # A 90k "tbr" is a timebase, not a rate: the typical frame duration says more.
        nominal = 1.0 / median if median > 0 else fps_avg
    w = facts.coded_w * facts.sar
    h = float(facts.coded_h)
    if facts.rotation_deg in (90, 270):
        w, h = h, w
    return VideoInfo(
        video_id=video_id_of(p, size_bytes),
        path=str(p.resolve()),
        title=p.stem,
        duration_s=round(duration_s, 6),
        fps_avg=round(fps_avg, 6),
        fps_nominal=round(nominal, 6),
        frame_count=n,
        width_px=round(w),
        height_px=round(h),
        rotation_deg=facts.rotation_deg,
        codec=facts.codec,
        has_audio=facts.has_audio,
        start_offset_s=facts.start_s,
        size_bytes=size_bytes,
        variable_frame_rate=vfr,
    )
