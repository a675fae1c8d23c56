"""Cut one clip of a video into its own MP4, with ffmpeg-python.

Two modes:

* ``copy`` (fast, no quality loss): stream copy. A copied H.264 stream can only start on a
  keyframe, so the clip starts at the keyframe at or before ``clip.start_s``; the returned
  :class:`CutClip` reports those *real* bounds, which are what a player showing the file sees.
* ``encode``: exact bounds, re-encoded to H.264/yuv420p + AAC with ``+faststart`` (plays in a
  browser), rotated upright and downscaled to ``long_side_px``: what providers that take a
  ``video_url`` and the web player want.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from videoidx.errors import FFmpegError
from videoidx.media.decode import even, frame_index
from videoidx.media.ffmpeg_bin import ffmpeg_exe, stderr_tail
from videoidx.types import ClipSpec, VideoInfo


@dataclass(frozen=True)
class CutClip:
    """An MP4 of one clip and the absolute bounds it really covers."""

    path: Path
    start_s: float
    end_s: float


def encode_size(info: VideoInfo, long_side_px: int | None) -> tuple[int, int]:
    """Even (width, height) of an encoded clip: display size, long side <= ``long_side_px``."""
    w, h = float(info.width_px), float(info.height_px)
    if long_side_px and max(w, h) > long_side_px:
        scale = long_side_px / max(w, h)
        w, h = w * scale, h * scale
    return even(w), even(h)


def keyframe_start_s(info: VideoInfo, start_s: float) -> float:
    """Time of the codec keyframe at or before ``start_s`` (where a stream copy can start)."""
    index = frame_index(info)
    key_times = [float(index.times_s[k]) for k in index.keyframes]
    i = bisect.bisect_right(key_times, start_s + 1e-6) - 1
    return key_times[max(i, 0)] if key_times else 0.0


def cut_clip(
    info: VideoInfo,
    clip: ClipSpec,
    out_path: str | Path,
    *,
    mode: Literal["copy", "encode"] = "copy",
    long_side_px: int | None = 640,
    ffmpeg_path: str | None = None,
) -> CutClip:
    """Write ``clip`` of ``info`` to ``out_path`` (MP4) and return its real bounds."""
    import ffmpeg

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    end_s = min(clip.end_s, info.duration_s)
    if mode == "copy":
        start_s = keyframe_start_s(info, clip.start_s)
    elif mode == "encode":
        start_s = clip.start_s
    else:
        raise ValueError(f"mode must be 'copy' or 'encode', not {mode!r}")
    # An input -ss counts from the file's own start time, i.e. from its first frame, exactly like
    # our absolute times: adding ``start_offset_s`` here would seek past a late-starting file.
    src = ffmpeg.input(info.path, ss=f"{start_s:.6f}")
    duration = f"{max(end_s - start_s, 0.001):.6f}"
    # The stream probe chose (a file may have several): the same one the index describes.
    video_stream = src[str(frame_index(info, ffmpeg_path).stream)]
    streams = [video_stream]
    if info.has_audio:
        streams.append(src["a:0?"])
    if mode == "copy":
        node = ffmpeg.output(
            *streams, str(out), t=duration, c="copy", avoid_negative_ts="make_zero", f="mp4"
        )
    else:
        w, h = encode_size(info, long_side_px)
        video = video_stream.filter("scale", w, h).filter("setsar", 1)
        outs = [video] + ([src["a:0?"]] if info.has_audio else [])
        kwargs = {"c:a": "aac", "b:a": "96k"} if info.has_audio else {}
        node = ffmpeg.output(
            *outs,
            str(out),
            t=duration,
            vcodec="libx264",
            preset="veryfast",
            crf=26,
            pix_fmt="yuv420p",
            movflags="+faststart",
            f="mp4",
            **kwargs,
        )
    node = node.global_args("-hide_banner", "-nostdin", "-loglevel", "error").overwrite_output()
    try:
        node.run(cmd=ffmpeg_exe(ffmpeg_path), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise FFmpegError(
            f"cutting clip {clip.index} ({clip.start_s:.1f}-{clip.end_s:.1f} s) of {info.path}: "
            f"ffmpeg failed: {stderr_tail(exc.stderr or b'')}; check the file and free disk space"
        ) from exc
    if mode == "copy":
        # A copy ends on a packet boundary, not at end_s: measure what was really written.
        end_s = start_s + _written_duration_s(out, fallback=end_s - start_s)
    return CutClip(path=out, start_s=round(start_s, 6), end_s=round(end_s, 6))


def _written_duration_s(path: Path, *, fallback: float) -> float:
    from videoidx.errors import MediaError
    from videoidx.media.probe import open_reader

    try:
        reader = open_reader(path)
        n = len(reader)
        if n == 0:
            return fallback
        ts = reader.get_frame_timestamp([0, n - 1])
        return float(ts[1][1] - ts[0][0])
    except MediaError:
        return fallback
