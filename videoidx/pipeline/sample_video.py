"""The demo's sample video: made on the spot, so a fresh machine needs no download.

Forty seconds in six shots: solid colours and moving test patterns, with tones in some shots and
silence in others, so the offline indexer has shots, motion, quiet and loud parts to find.
"""

from __future__ import annotations

from pathlib import Path

from videoidx.media.synth import Segment, make_video

SAMPLE_SEGMENTS = (
    Segment("blue", 6.0),
    Segment("orange", 8.0, tone_hz=440, pattern=True),
    Segment("white", 5.0),
    Segment("green", 9.0, tone_hz=660, pattern=True),
    Segment("red", 4.0, tone_hz=220),
    Segment("purple", 8.0, pattern=True),
)


def make_sample_video(path: str | Path, *, ffmpeg_path: str | None = None) -> Path:
    """Write the sample video to ``path`` (reused when it already exists)."""
    path = Path(path)
    if path.is_file() and path.stat().st_size > 0:
        return path
    return make_video(path, SAMPLE_SEGMENTS, width_px=640, height_px=360, ffmpeg_path=ffmpeg_path)
