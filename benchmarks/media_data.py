"""Generate (and cache) the long synthetic videos the media benchmark runs on.

The content is a chain of lavfi sources with motion (testsrc2, gradients, a Mandelbrot zoom,
Game of Life, cellular automata, scrolling colour bars, a zone plate), each segment hue-shifted so
repeats differ, joined by hard cuts at known times. So the shot detector has real work (motion, pans
and cuts) and the cut times are known exactly. Files are cached in ``bench-data/`` (git-ignored),
or in ``$VIDEOIDX_BENCH_DIR`` when set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from videoidx.media.ffmpeg_bin import ffmpeg_exe  # noqa: E402

BENCH_DIR = Path(os.environ.get("VIDEOIDX_BENCH_DIR") or ROOT / "bench-data")
"""Where generated files are cached; ``VIDEOIDX_BENCH_DIR`` shares one cache between checkouts
(an hour of 1080p takes a long while to generate on a small machine)."""

# Segment lengths cycle through these (seconds): irregular so cuts do not fall on a grid.
LENGTHS_S = (7.0, 12.0, 5.0, 18.0, 9.0, 15.0, 4.0, 11.0, 22.0, 8.0, 13.0)


def _source(kind: int, w: int, h: int, fps: int, dur: float) -> str:
    """The lavfi source of segment type ``kind``; small sources are scaled up by the caller."""
    sources = [
        f"testsrc2=s={w}x{h}:r={fps}:d={dur}",
        f"gradients=s={w}x{h}:r={fps}:d={dur}:speed=0.02",
        f"mandelbrot=s=320x180:r={fps},trim=duration={dur}",
        f"life=s=320x180:r={fps}:mold=10:ratio=0.3:life_color=#00ff00,trim=duration={dur}",
        f"smptehdbars=s={w}x{h}:r={fps}:d={dur},scroll=h=0.004",
        f"cellauto=s=320x180:r={fps}:rule=30,trim=duration={dur}",
        f"zoneplate=s={w}x{h}:r={fps}:d={dur}:kt2=2",
    ]
    return sources[kind % len(sources)]


def segments(duration_s: float) -> list[tuple[int, float]]:
    """(kind, length) per segment, covering ``duration_s`` exactly."""
    out: list[tuple[int, float]] = []
    t, i = 0.0, 0
    while t < duration_s - 1e-6:
        length = min(LENGTHS_S[i % len(LENGTHS_S)], duration_s - t)
        out.append((i, length))
        t += length
        i += 1
    return out


def cut_times_s(duration_s: float) -> list[float]:
    """The hard cuts of the generated file: every segment start but the first."""
    times, t = [], 0.0
    for _, length in segments(duration_s):
        times.append(round(t, 6))
        t += length
    return times[1:]


def generate(
    path: Path, *, duration_s: float, width: int, height: int, fps: int, preset: str
) -> Path:
    """Encode the benchmark video to ``path`` unless it is already there."""
    if path.is_file() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    args: list[str] = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    filters, labels = [], []
    segs = segments(duration_s)
    for n, (i, length) in enumerate(segs):
        args += ["-f", "lavfi", "-i", _source(i, width, height, fps, length)]
        hue = (i * 47) % 360
        filters.append(
            f"[{n}:v]scale={width}:{height},hue=h={hue},fps={fps},format=yuv420p,setsar=1[v{n}]"
        )
        labels.append(f"[v{n}]")
    filters.append(f"{''.join(labels)}concat=n={len(segs)}:v=1:a=0[vout]")
    args += ["-f", "lavfi", "-i", f"sine=f=440:r=44100:d={duration_s}"]
    args += ["-filter_complex", ";".join(filters), "-map", "[vout]", "-map", f"{len(segs)}:a"]
    args += ["-c:v", "libx264", "-preset", preset, "-crf", "23", "-g", str(8 * fps)]
    args += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart"]
    tmp = path.with_suffix(".part.mp4")
    args.append(str(tmp))
    started = time.monotonic()
    print(f"generating {path.name} ({duration_s:.0f} s {width}x{height}) ...", flush=True)
    subprocess.run(args, check=True)
    tmp.rename(path)
    print(f"generated {path.name} in {time.monotonic() - started:.0f} s", flush=True)
    return path


def ten_minute_720p() -> Path:
    return generate(
        BENCH_DIR / "media_10min_720p30.mp4",
        duration_s=600,
        width=1280,
        height=720,
        fps=30,
        preset="veryfast",
    )


def one_hour_1080p() -> Path:
    return generate(
        BENCH_DIR / "media_1h_1080p30.mp4",
        duration_s=3600,
        width=1920,
        height=1080,
        fps=30,
        preset="ultrafast",
    )


SPEECH_FILE = ROOT.parent / "shared" / "media" / "speech" / "fw_jfk.flac"


def one_hour_1080p_speech() -> Path:
    """The 1-hour file with its tone replaced by real speech (the shared JFK recording, 11 s,
    looped), so the transcriber works the whole hour: the pictures are copied, not encoded."""
    path = BENCH_DIR / "media_1h_1080p30_speech.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    video = one_hour_1080p()
    tmp = path.with_suffix(".part.mp4")
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video)]
    args += ["-stream_loop", "-1", "-i", str(SPEECH_FILE), "-map", "0:v", "-map", "1:a"]
    args += ["-c:v", "copy", "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-shortest"]
    args += ["-movflags", "+faststart", str(tmp)]
    print(f"generating {path.name} (speech muxed into {video.name}) ...", flush=True)
    subprocess.run(args, check=True)
    tmp.rename(path)
    return path


if __name__ == "__main__":
    ten_minute_720p()
    if "--hour" in sys.argv:
        one_hour_1080p()
