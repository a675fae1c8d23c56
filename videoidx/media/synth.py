"""Generate videos with known content, for the demo, the tests and the benchmarks.

A synthetic video is a sequence of :class:`Segment` s, each a solid colour (optionally with moving
test pattern or a tone), so the truth is known exactly: where the hard cuts are, which colour is
on screen when, and where the audio is loud or silent. The fake provider server answers from the
colours it sees, and tests compare stored event times with these segments.

A segment may also show text (:class:`Caption` lines drawn with Pillow, DejaVu Sans when the system
has it) and say a sentence (``speech``, spoken by the ``espeak-ng`` binary from the segment's
start; :func:`can_speak` says whether this machine has it), so what is written and said on screen
is known too.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from videoidx.errors import MediaError
from videoidx.media.ffmpeg_bin import run_ffmpeg

FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)

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
class Caption:
    """One line of on-screen text, ``size_px`` high in the video's pixels."""

    text: str
    size_px: int = 48
    colour: str = "black"


@dataclass(frozen=True)
class Segment:
    """``duration_s`` of one solid ``colour``; ``tone_hz`` > 0 adds a sine tone, 0 is silence.

    ``pattern`` replaces the solid colour by ffmpeg's moving ``testsrc2`` pattern tinted with the
    colour, which gives the motion detector something to find (``pattern_source`` names another
    lavfi source, with options if any: ``testsrc2`` shows a running clock that OCR reads,
    ``life=seed=1`` moves without any text). ``captions`` are drawn over it,
    from a quarter of the height down; ``speech`` is said from the segment's start (instead of
    the tone; it must end within the segment).
    """

    colour: str
    duration_s: float
    tone_hz: float = 0.0
    pattern: bool = False
    captions: tuple[Caption, ...] = ()
    speech: str = ""
    pattern_source: str = "testsrc2"


def font(size_px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans at ``size_px`` when the system has it, else Pillow's own scalable font."""
    for path in FONT_PATHS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size_px)
    return ImageFont.load_default(size_px)


def draw_captions(img: Image.Image, captions: Sequence[Caption]) -> Image.Image:
    """Draw ``captions`` on ``img`` (in place; returned for chaining), one under the other."""
    draw = ImageDraw.Draw(img)
    width_px, height_px = img.size
    y = height_px // 4
    for cap in captions:
        draw.text((width_px // 10, y), cap.text, font=font(cap.size_px), fill=cap.colour)
        y += int(cap.size_px * 1.8)
    return img


def can_speak() -> bool:
    """Whether ``espeak-ng`` is on this machine (segments with ``speech`` need it)."""
    return shutil.which("espeak-ng") is not None


def speak(text: str, out: Path) -> Path:
    """``text`` said by espeak-ng into the WAV file ``out``."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MediaError(
            "saying generated speech needs the espeak-ng program: install it "
            "(Debian: apt-get install espeak-ng) or make the video without speech"
        )
    subprocess.run([exe, "-w", str(out), text], check=True, capture_output=True)
    return out


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
    with tempfile.TemporaryDirectory(prefix="videoidx-synth-") as tmp:
        args = _inputs_and_filters(
            segments, Path(tmp), width_px=width_px, height_px=height_px, fps=fps, audio=audio
        )
        args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
        if gop_frames:
            args += ["-g", str(gop_frames), "-keyint_min", str(gop_frames), "-sc_threshold", "0"]
        args += ["-movflags", "+faststart", str(path)]
        run_ffmpeg(args, what=f"generating synthetic video {path.name}", ffmpeg_path=ffmpeg_path)
    return path


def _inputs_and_filters(
    segments: Sequence[Segment], tmp: Path, *, width_px: int, height_px: int, fps: int, audio: bool
) -> list[str]:
    """ffmpeg's inputs and filter graph for ``segments``: one video and one audio piece each,
    concatenated (caption pictures and speech files are written to ``tmp``)."""
    size = f"{width_px}x{height_px}"
    args: list[str] = ["-y"]
    video_labels, audio_labels, filters = [], [], []
    n_in = 0

    def add_input(*spec: str) -> int:
        nonlocal n_in
        args.extend(spec)
        n_in += 1
        return n_in - 1

    for i, seg in enumerate(segments):
        d = seg.duration_s
        if seg.pattern:
            # "-t" rather than the source's own duration option: not every source has one.
            joint = ":" if "=" in seg.pattern_source else "="  # "life" or "life=seed=1"
            src = f"{seg.pattern_source}{joint}s={size}:r={fps}"
            k = add_input("-f", "lavfi", "-t", f"{d}", "-i", src)
            chain = f"[{k}:v]colorbalance=rs=0,drawbox=c={seg.colour}@0.6:t=fill"
        else:
            k = add_input("-f", "lavfi", "-i", f"color=c={seg.colour}:s={size}:r={fps}:d={d}")
            chain = f"[{k}:v]null"
        if seg.captions:
            png = tmp / f"captions{i}.png"
            draw_captions(
                Image.new("RGBA", (width_px, height_px), (0, 0, 0, 0)), seg.captions
            ).save(png)
            # One picture a second is enough: overlay repeats it on every frame in between.
            c = add_input("-loop", "1", "-framerate", "1", "-t", f"{d}", "-i", str(png))
            filters.append(f"{chain}[base{i}]")
            chain = f"[base{i}][{c}:v]overlay=shortest=1"
        filters.append(f"{chain},format=yuv420p,setsar=1[v{i}]")
        video_labels.append(f"[v{i}]")
    if audio:
        for i, seg in enumerate(segments):
            d = seg.duration_s
            if seg.speech:
                wav = speak(seg.speech, tmp / f"speech{i}.wav")
                k = add_input("-i", str(wav))
                chain = f"[{k}:a]aresample=44100,apad=whole_dur={d},atrim=0:{d}"
            elif seg.tone_hz > 0:
                k = add_input("-f", "lavfi", "-i", f"sine=f={seg.tone_hz}:r=44100:d={d}")
                chain = f"[{k}:a]anull"
            else:
                k = add_input("-f", "lavfi", "-i", f"anullsrc=r=44100:cl=mono:d={d}")
                chain = f"[{k}:a]anull"
            filters.append(f"{chain},aformat=sample_rates=44100:channel_layouts=mono[a{i}]")
            audio_labels.append(f"[a{i}]")
    n = len(segments)
    concat_in = "".join(v + (audio_labels[i] if audio else "") for i, v in enumerate(video_labels))
    filters.append(
        f"{concat_in}concat=n={n}:v=1:a={1 if audio else 0}[vout]" + ("[aout]" if audio else "")
    )
    args += ["-filter_complex", ";".join(filters), "-map", "[vout]"]
    if audio:
        args += ["-map", "[aout]", "-c:a", "aac", "-b:a", "64k"]
    return args
