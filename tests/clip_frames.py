"""Build ClipInputs from a synthetic video for indexer tests: decord frames, Pillow JPEGs.

Kept small and independent of ``videoidx.media.sample`` so the GLM adapter's end-to-end tests
exercise exactly the frames they choose (known times, known colours).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import decord
from PIL import Image

from videoidx.types import ClipInput, ClipSpec, Frame, VideoInfo


def video_info(path: Path, *, video_id: str = "synthvideo0001") -> VideoInfo:
    """A VideoInfo filled from decord (the real probe may not exist yet)."""
    vr = decord.VideoReader(str(path))
    h, w = vr[0].shape[:2]
    fps = vr.get_avg_fps()
    return VideoInfo(
        video_id=video_id,
        path=str(path),
        title=path.stem,
        duration_s=len(vr) / fps,
        fps_avg=fps,
        fps_nominal=fps,
        frame_count=len(vr),
        width_px=w,
        height_px=h,
        rotation_deg=0,
        codec="h264",
        has_audio=True,
        start_offset_s=0.0,
        size_bytes=path.stat().st_size,
    )


def frames_at(path: Path, times_s: Sequence[float], *, long_side_px: int = 224) -> list[Frame]:
    """JPEG frames at the given times (nearest decoded frame), resized to ``long_side_px``."""
    vr = decord.VideoReader(str(path))
    fps = vr.get_avg_fps()
    indices = [min(round(t * fps), len(vr) - 1) for t in times_s]
    batch = vr.get_batch(indices).asnumpy()
    frames = []
    for idx, arr in zip(indices, batch, strict=True):
        img = Image.fromarray(arr)
        scale = long_side_px / max(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)))
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=85)
        frames.append(Frame(idx / fps, out.getvalue(), img.width, img.height, idx))
    return frames


def clip_inputs(
    path: Path, bounds_s: Sequence[tuple[float, float]], *, step_s: float = 0.5
) -> list[ClipInput]:
    """One ClipInput per ``(start, end)``, with a frame every ``step_s`` from the start."""
    info = video_info(path)
    out = []
    for index, (start, end) in enumerate(bounds_s):
        n = round((end - start) / step_s)
        times = [start + i * step_s for i in range(n)]
        out.append(
            ClipInput(
                video=info,
                clip=ClipSpec(info.video_id, index, start, end),
                frames=tuple(frames_at(path, times)),
            )
        )
    return out
