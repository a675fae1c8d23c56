"""The demo's sample video: made on the spot, so a fresh machine needs no download.

Forty seconds in six shots: solid colours and moving patterns (Conway's life, which has no text
for OCR to read, unlike ffmpeg's test pattern with its clock), with tones in some shots and
silence in others, so the offline indexer has shots, motion, quiet and loud parts to find. Two
shots show slides of text (drawn with Pillow), so the timeline has on-screen text to read; when
``espeak-ng`` is on the machine, three shots also say a sentence, so it has speech to transcribe.
Both mention the budget, so the demo's search for ``budget`` finds what was written and said.

The file's name says what it holds (``videoidx-sample-talk.mp4`` speaks, ``-slides`` does not),
so a sample made before espeak-ng was installed, or by an older version without text, is not
reused as if it had them.
"""

from __future__ import annotations

from pathlib import Path

from videoidx.media.synth import Caption, Segment, can_speak, make_video

SAMPLE_QUERY = "budget"
"""What the demo searches for in its own sample: shown on a slide and said aloud."""
MOTION = "life=seed=1"
"""A moving picture without text, the same every time (a fixed seed)."""
TITLE = "Quarterly budget review"
"""The first slide's title (the demo's test looks for it as an on-screen text hit)."""


def sample_segments(*, speech: bool) -> tuple[Segment, ...]:
    """The sample's shots; ``speech`` adds the spoken sentences."""

    def said(text: str) -> str:
        return text if speech else ""

    return (
        Segment(
            "white",
            6.0,
            captions=(Caption(TITLE, 40), Caption("Revenue grew in every region", 24)),
            speech=said("welcome to the budget review"),
        ),
        Segment("orange", 8.0, tone_hz=440, pattern=True, pattern_source=MOTION),
        Segment(
            "blue",
            5.0,
            captions=(
                Caption("Next steps", 40, "white"),
                Caption("Hire two engineers", 24, "white"),
            ),
            speech=said("we will hire two engineers"),
        ),
        Segment("green", 9.0, tone_hz=660, pattern=True, pattern_source=MOTION),
        Segment("red", 4.0, tone_hz=220),
        Segment(
            "purple",
            8.0,
            pattern=True,
            pattern_source=MOTION,
            speech=said("thank you for watching"),
        ),
    )


def sample_path(folder: str | Path = ".") -> Path:
    """Where the demo writes its sample: the name says whether it speaks on this machine."""
    name = "videoidx-sample-talk.mp4" if can_speak() else "videoidx-sample-slides.mp4"
    return Path(folder) / name


def make_sample_video(path: str | Path, *, ffmpeg_path: str | None = None) -> Path:
    """Write the sample video to ``path`` (reused when it already exists), with speech when
    espeak-ng is on this machine."""
    path = Path(path)
    if path.is_file() and path.stat().st_size > 0:
        return path
    segments = sample_segments(speech=can_speak())
    return make_video(path, segments, width_px=640, height_px=360, ffmpeg_path=ffmpeg_path)
