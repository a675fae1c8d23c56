"""Probe a video file: what :class:`~videoidx.types.VideoInfo` says, from ffmpeg.

There is no ffprobe in the ``imageio-ffmpeg`` wheel, so the facts come from two ffmpeg runs:

* ``ffmpeg -i FILE`` (stderr, parsed): which video stream to read, its codec, rotation
  (display-matrix side data or the older ``rotate`` tag), sample aspect ratio, audio streams, the
  container's start time. It also tells a text file or an audio-only file from a video, and a
  truncated container from a file that is not a video at all.
* the frame index of that stream (``media.index``): frame count, per-frame presentation
  timestamps (normalised so the first frame is t = 0), keyframes.

A file with several video streams is read from one stream, chosen here once: the first with the
default disposition, else the first (cover art is never chosen). ``VideoInfo.video_stream`` names
it, and every reader (decode pass, clip cutter, offline indexer) maps exactly that stream.

``video_id`` is a *sampled* content hash, so probing a multi-GB file reads 3 MiB rather than every
byte: sha256 over the file size and the first, middle and last MiB, shortened to 16 hex chars.
Two files that differ only outside those windows and have the same size would share an id; for
video files (whose headers and indexes sit in the first/last MiB) that is accepted.
"""

from __future__ import annotations

import functools
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
    """What ``ffmpeg -i`` says about a file's chosen video stream."""

    stream_index: int
    """Container index of the chosen stream (``-map 0:<stream_index>``)."""
    video_streams: int
    """How many video streams (not cover art) the file has."""
    codec: str
    coded_w: int
    coded_h: int
    sar: float
    rotation_deg: int
    nominal_fps: float | None
    start_s: float
    has_audio: bool


_VIDEO_LINE = re.compile(r"Stream #\d+:(\d+)[^:]*: Video: (.*)$")
_SIZE = re.compile(r",\s*(\d{1,5})x(\d{1,5})\b")
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
    """Read the chosen video stream out of ``ffmpeg -i`` output; raise on non-video."""
    if (
        "Error opening input" in text
        or "Invalid data found when processing input" in text
        or "moov atom not found" in text
    ):
        container = _container_of(path)
        if "moov atom not found" in text and container == "MP4":
            raise CorruptVideoError(
                f"{path} is an MP4 without its index (moov atom): it is truncated or was not "
                "finished writing; re-copy or re-export the file"
            )
        if container:
            # The file starts like a video container but ffmpeg cannot read its header: a
            # truncated or damaged copy, not some other kind of file.
            raise CorruptVideoError(
                f"{path} starts like a video file ({container}) but its header cannot be read "
                f"({stderr_tail(text, 1)}): it is truncated or damaged; re-copy or re-export it"
            )
        raise NotAVideoError(
            f"{path} is not a video ffmpeg can read ({stderr_tail(text, 1)}); "
            "check that it is a video file (MP4, MKV, MOV, WebM ...)"
        )
    lines = text.splitlines()
    candidates: list[tuple[int, int]] = []  # (line number, stream index)
    for i, line in enumerate(lines):
        m = _VIDEO_LINE.search(line)
        if m and "attached pic" not in line:
            candidates.append((i, int(m.group(1))))
    has_audio = any(re.search(r"Stream #\d+:\d+.*: Audio:", ln) for ln in lines)
    if not candidates:
        what = "audio only" if has_audio else "no video stream"
        raise NotAVideoError(f"{path} has {what}; videoidx needs a file with a video stream")
    defaults = [c for c in candidates if "(default)" in lines[c[0]]]
    video_idx, stream_index = (defaults or candidates)[0]
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
        stream_index=stream_index,
        video_streams=len(candidates),
        codec=codec,
        coded_w=int(size.group(1)),
        coded_h=int(size.group(2)),
        sar=sar,
        rotation_deg=round(rotation) % 360,
        nominal_fps=_rate(_TBR.search(line)) or _rate(_FPS.search(line)),
        start_s=max(0.0, start_s),
        has_audio=has_audio,
    )


def _container_of(path: Path) -> str:
    """The video container ``path`` starts like ("MP4", "Matroska/WebM", "AVI"), or ""."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return ""
    if head[4:8] in {b"ftyp", b"mdat", b"moov", b"free", b"wide"}:
        return "MP4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "Matroska/WebM"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    return ""


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


def stream_facts(path: str | Path, ffmpeg_path: str | None = None) -> StreamFacts:
    """``ffmpeg -i``'s facts about ``path``'s chosen video stream (cached per file version)."""
    p = Path(path)
    st = p.stat()
    return _stream_facts(str(p), ffmpeg_exe(ffmpeg_path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _stream_facts(path: str, exe: str, size: int, mtime_ns: int) -> StreamFacts:
    return parse_ffmpeg_info(run_ffmpeg_info(Path(path), exe), Path(path))


def open_reader(path: Path, **kwargs: Any) -> Any:
    """A decord VideoReader, with decord's generic errors translated.

    Only for files with one video stream (decord cannot be told which stream to read): the
    clips videoidx writes itself.
    """
    import decord

    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0), **kwargs)
    except (decord.DECORDError, RuntimeError) as exc:
        raise CorruptVideoError(
            f"{path} cannot be decoded ({decord_reason(exc)}); the file is truncated "
            "or damaged: re-copy or re-export it"
        ) from exc


# decord's C++ errors start with its build machine's source path and line
# ("[15:13:00] /github/workspace/src/video/video_reader.cc:486: Error: ..."): noise to a user.
_DECORD_SOURCE = re.compile(r"(\[[\d:]+\]\s*)?(/[^\s:]+)?/[\w.-]+\.(?:cc|cpp|c|h):\d+:\s*")
_AVERROR_TEXT = {
    "1094995529": "invalid data",  # AVERROR_INVALIDDATA
    "541478725": "end of file",  # AVERROR_EOF
}


def decord_reason(exc: BaseException) -> str:
    """decord's message without its source-file prefixes, ffmpeg error codes named."""
    lines = [ln for ln in str(exc).splitlines() if ln.strip() and "Stack trace" not in ln]
    text = _DECORD_SOURCE.sub("", lines[0] if lines else "").strip()
    text = re.sub(r"^Error:\s*", "", text)
    if text.startswith("Error reading "):  # decord's Python wrapper, which names only the path
        text = "decord cannot open it"
    for code, name in _AVERROR_TEXT.items():
        text = re.sub(rf"\b-?{code}\b", f"{code} ({name})", text)
    return text[:160] or type(exc).__name__


def probe(path: str | Path, *, ffmpeg_path: str | None = None) -> VideoInfo:
    """What a video is: duration, rates, display size, rotation, codec, audio and ``video_id``."""
    from videoidx.media.index import build_frame_index

    p = check_file(path)
    size_bytes = p.stat().st_size
    facts = stream_facts(p, ffmpeg_path)
    index = build_frame_index(p, facts.stream_index, ffmpeg_path)
    n = len(index.pts_s)
    starts = index.times_s
    duration_s = index.duration_s
    deltas = np.diff(starts)
    median = float(np.median(deltas)) if len(deltas) else 0.0
    vfr = bool(
        len(deltas) > 1
        and np.max(np.abs(deltas - median)) > max(VFR_TOLERANCE_S, VFR_TOLERANCE_REL * median)
    )
    fps_avg = n / duration_s if duration_s > 0 else (facts.nominal_fps or 1.0)
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
        width_px=max(1, round(w)),
        height_px=max(1, round(h)),
        rotation_deg=facts.rotation_deg,
        codec=facts.codec,
        has_audio=facts.has_audio,
        start_offset_s=facts.start_s,
        size_bytes=size_bytes,
        variable_frame_rate=vfr,
        video_stream=facts.stream_index,
        video_streams=facts.video_streams,
    )
