"""Generate videos with known content, for the demo, the tests and the benchmarks.

A synthetic video is a sequence of :class:`Segment` s, each a solid colour (optionally with moving
test pattern or a tone), so the truth is known exactly: where the hard cuts are, which colour is
on screen when, and where the audio is loud or silent. The fake provider server answers from the
colours it sees, and tests compare stored event times with these segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videoidx.media.ffmpeg_bin import run_ffmpeg

# Colour names ffmpeg understands, with their RGB values for tests that read pixels.
COLOURS_RGB: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "magenta": (255, 0, 255),
    "cyan": (0, 255, 255),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
}


@dataclass(frozen=True)
class Segment:
    """``duration_s`` of one solid ``colour``; ``tone_hz`` > 0 adds a sine tone, 0 is silence.

    ``pattern`` replaces the solid colour by ffmpeg's moving ``testsrc2`` pattern tinted with the
    colour, which gives the motion detector something to find.
    """

    colour: str
    duration_s: float
    tone_hz: float = 0.0
    pattern: bool = False


def segment_starts_s(segments: Sequence[Segment]) -> list[float]:
    """Start time of each segment; the hard cuts are every start but the first."""
    starts, t = [], 0.0
    for seg in segments:
        starts.append(round(t, 6))
        t += seg.duration_s
    return starts


def make_video(
    path: str | Path,
    segments: Sequence[Segment],
    *,
    width_px: int = 320,
    height_px: int = 240,
    fps: int = 25,
    gop_frames: int | None = None,
    audio: bool = True,
    crf: int = 28,
    ffmpeg_path: str | None = None,
) -> Path:
    """Encode ``segments`` into an H.264 MP4 at ``path`` (AAC audio unless ``audio=False``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = f"{width_px}x{height_px}"
    args: list[str] = ["-y"]
    video_labels, audio_labels, filters = [], [], []
    n = len(segments)
    for i, seg in enumerate(segments):
        if seg.pattern:
            args += ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={fps}:d={seg.duration_s}"]
            filters.append(
                f"[{i}:v]colorbalance=rs=0,drawbox=c={seg.colour}@0.6:t=fill,"
                f"format=yuv420p,setsar=1[v{i}]"
            )
        else:
            args += [
                "-f",
                "lavfi",
                "-i",
                f"color=c={seg.colour}:s={size}:r={fps}:d={seg.duration_s}",
            ]
            filters.append(f"[{i}:v]format=yuv420p,setsar=1[v{i}]")
        video_labels.append(f"[v{i}]")
    if audio:
        for i, seg in enumerate(segments):
            src = (
                f"sine=f={seg.tone_hz}:r=44100:d={seg.duration_s}"
                if seg.tone_hz > 0
                else f"anullsrc=r=44100:cl=mono:d={seg.duration_s}"
            )
            args += ["-f", "lavfi", "-i", src]
            filters.append(f"[{n + i}:a]aformat=channel_layouts=mono[a{i}]")
            audio_labels.append(f"[a{i}]")
    concat_in = "".join(v + (audio_labels[i] if audio else "") for i, v in enumerate(video_labels))
    filters.append(
        f"{concat_in}concat=n={n}:v=1:a={1 if audio else 0}[vout]" + ("[aout]" if audio else "")
    )
    args += ["-filter_complex", ";".join(filters), "-map", "[vout]"]
    if audio:
        args += ["-map", "[aout]", "-c:a", "aac", "-b:a", "64k"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
    if gop_frames:
        args += ["-g", str(gop_frames), "-keyint_min", str(gop_frames), "-sc_threshold", "0"]
    args += ["-movflags", "+faststart", str(path)]
    run_ffmpeg(args, what=f"generating synthetic video {path.name}", ffmpeg_path=ffmpeg_path)
    return path
