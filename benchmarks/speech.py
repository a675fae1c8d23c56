"""Speed of the default local transcriber: its real-time factor on this machine.

The audio is real speech from ``shared/media/speech/``: JFK (11 s), the English first half of the
MIT licence read aloud (30 s) and the two-speaker clip (5 s), with 1 s pauses, repeated to about
``--seconds`` (default 120) and decoded to 16 kHz mono once. (One sentence repeated would be a
bad test: Whisper's compression-ratio check takes a window of repeated text for a loop and
decodes it again at higher temperatures, several times slower.) The default transcriber
(``indexers.transcribers.open_transcriber`` with default settings: the packaged tiny.en, int8, voice
activity detection and word times) transcribes it ``--runs`` times after one warm-up; reported:

* load time of the model;
* wall real-time factor (audio seconds per wall second) and CPU real-time factor (audio seconds
  per CPU second of this process, all threads): the wall figure depends on what else the
  machine runs, so the load average before and after is printed with it.

    .venv/bin/python benchmarks/speech.py [--seconds 120] [--runs 3] [--threads 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexers.transcribers import open_transcriber  # noqa: E402
from videoidx.media.audio import SAMPLE_RATE_HZ  # noqa: E402
from videoidx.media.ffmpeg_bin import ffmpeg_exe  # noqa: E402
from videoidx.settings import Settings  # noqa: E402

SPEECH = ROOT.parent / "shared" / "media" / "speech"
PARTS = (("fw_jfk.flac", None), ("fw_multilingual.mp3", 30.0), ("fw_stereo_diarization.wav", None))


def _decode(path: Path, seconds: float | None) -> np.ndarray:
    import subprocess

    cut = ["-t", str(seconds)] if seconds else []
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), *cut, "-ac", "1", "-ar", "16000",
         "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.float32)


def speech(seconds: float) -> np.ndarray:
    pause = np.zeros(SAMPLE_RATE_HZ, dtype=np.float32)
    block = np.concatenate([np.concatenate([_decode(SPEECH / n, s), pause]) for n, s in PARTS])
    reps = max(1, round(seconds / (len(block) / SAMPLE_RATE_HZ)))
    return np.concatenate([block] * reps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="transcribe_threads (0: engine's)")
    args = ap.parse_args()
    audio = speech(args.seconds)
    audio_s = len(audio) / SAMPLE_RATE_HZ
    started = time.perf_counter()
    transcriber, why = open_transcriber(Settings().replace(transcribe_threads=args.threads))
    if transcriber is None:
        sys.exit(f"local transcriber unavailable: {why}")
    load_s = time.perf_counter() - started
    transcriber.transcribe(audio[: 5 * SAMPLE_RATE_HZ], 0.0)  # warm-up
    print(f"model {transcriber.cache_identity()}; load {load_s:.2f} s; audio {audio_s:.1f} s")
    print(f"cores {os.cpu_count()}; load average before {os.getloadavg()[0]:.2f}")
    walls, cpus = [], []
    for n in range(args.runs):
        w0, c0 = time.perf_counter(), time.process_time()
        t = transcriber.transcribe(audio, 0.0)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        walls.append(audio_s / wall)
        cpus.append(audio_s / cpu)
        words = sum(len(s.words) for s in t.segments)
        print(
            f"run {n + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU -> {audio_s / wall:.1f}x real time "
            f"(CPU {audio_s / cpu:.1f}x), {len(t.segments)} segments, {words} words"
        )
    print(
        f"real-time factor: median {float(np.median(walls)):.1f}x wall, "
        f"{float(np.median(cpus)):.1f}x per CPU second; "
        f"load average after {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
