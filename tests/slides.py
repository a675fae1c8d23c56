"""Slides drawn with Pillow at known times, encoded by ffmpeg, for on-screen text tests.

Each :class:`Slide` is some lines of text on a plain background for ``duration_s``; the video shows
them one after another (a hard cut at each change), so where each text is on screen is known
exactly. The font is DejaVu Sans when the system has it (Debian ``fonts-dejavu-core``), else
Pillow's own scalable default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.synth import font


@dataclass(frozen=True)
class Slide:
    """``lines`` of text (none: an empty slide) shown for ``duration_s``."""

    lines: tuple[str, ...]
    duration_s: float
    background: str = "white"
    colour: str = "black"


def slide_starts_s(slides: Sequence[Slide]) -> list[float]:
    """When each slide starts (absolute seconds)."""
    out, t = [], 0.0
    for s in slides:
        out.append(t)
        t += s.duration_s
    return out


def draw_slide(slide: Slide, width_px: int, height_px: int, size_px: int) -> Image.Image:
    img = Image.new("RGB", (width_px, height_px), slide.background)
    draw = ImageDraw.Draw(img)
    face = font(size_px)
    y = height_px // 4
    for line in slide.lines:
        draw.text((width_px // 10, y), line, font=face, fill=slide.colour)
        y += int(size_px * 1.8)
    return img


def make_slides_video(
    path: Path,
    slides: Sequence[Slide],
    *,
    width_px: int = 1280,
    height_px: int = 720,
    size_px: int = 64,
    fps: int = 25,
) -> Path:
    """Encode ``slides`` (text ``size_px`` high in a ``width_px`` frame) into an H.264 MP4."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args: list[str] = ["-y"]
    for i, slide in enumerate(slides):
        png = path.with_name(f"{path.stem}_slide{i}.png")
        draw_slide(slide, width_px, height_px, size_px).save(png)
        args += ["-loop", "1", "-framerate", str(fps), "-t", f"{slide.duration_s}", "-i", str(png)]
    inputs = "".join(f"[{i}:v]" for i in range(len(slides)))
    args += [
        "-filter_complex",
        f"{inputs}concat=n={len(slides)}:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-r",
        str(fps),
        str(path),
    ]
    run_ffmpeg(args, what=f"encoding slides into {path}")
    return path
