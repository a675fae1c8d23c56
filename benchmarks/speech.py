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

With ``--index``, it measures instead what transcription adds to ``videoidx index`` (the
offline indexer, on-screen text off so only speech differs): a 10-minute 640x360 video of
shots that alternate between moving footage and a still colour, with an espeak-ng sentence at
the start of every 20 s shot (made once into
``/work/bench-data``, ``--data`` elsewhere) is indexed in a child process with
``transcriber = none`` and with the default local transcriber, each into a fresh library. Reported:
wall and CPU seconds of each run (the child and its ffmpeg children) and the ratio of the wall time
transcription adds to the CPU time it adds. At most 1.0 means it overlapped with the video work
(it cost no more wall time than its own CPU time); the target of issue 14.

    .venv/bin/python benchmarks/speech.py --index [--data /work/bench-data]

With ``--ocr``, what on-screen text costs and finds: a 2-minute 1080p video of three 20 s slide
shots (a title and a line of 18 px text that changes halfway, on the same background) between
three 20 s shots of ffmpeg's moving test pattern (with its running clock), indexed with speech
off and OCR on, by this checkout and by the one given with ``--before DIR`` (e.g. the main
branch). Reported per checkout: wall and CPU seconds, and which of the six small lines were found.

    .venv/bin/python benchmarks/speech.py --ocr [--before /work/main]
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


SHOT_S = 20.0
SENTENCES = (
    "the quarterly budget was approved by the board",
    "our new office opens in lisbon next spring",
    "please send the slides before friday",
    "the river rose two metres after the storm",
    "we will hire two engineers for the data team",
    "the train to porto leaves at nine",
    "sales grew in every region except the north",
    "remember to water the tomatoes on tuesday",
    "the concert was moved to the larger hall",
    "thank you all for coming to this meeting",
)


def long_video(data: Path, minutes: float = 10.0) -> Path:
    """The 10-minute benchmark video (made once): moving footage, a sentence every 20 s."""
    from videoidx.media.synth import Segment, make_video

    path = data / f"speech-{minutes:g}min-360p.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    n = round(minutes * 60 / SHOT_S)
    segments = [
        Segment(
            ("orange", "blue", "green", "purple", "cyan")[i % 5],
            SHOT_S,
            pattern=i % 2 == 0,
            pattern_source=f"life=seed={i + 1}",
            speech=SENTENCES[i % len(SENTENCES)],
        )
        for i in range(n)
    ]
    print(f"making {path} ({n} shots of {SHOT_S:g} s, a sentence at each start)", flush=True)
    return make_video(path, segments, width_px=640, height_px=360, crf=28)


def _index_run(
    video: Path, db: Path, transcriber: str, *, ocr: str = "off", code: Path = ROOT
) -> tuple[float, float]:
    """Wall and CPU seconds of ``videoidx index`` in a child process (and its ffmpeg)."""
    import resource
    import subprocess

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIDEOIDX_")},
        "VIDEOIDX_CONFIG": os.devnull,
        "VIDEOIDX_TRANSCRIBER": transcriber,
        "VIDEOIDX_OCR_ENGINE": ocr,
        "PYTHONPATH": str(code),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "videoidx", "index", str(video), "--db", str(db)],
        env=env,
        cwd=code,  # "-m" puts the working directory first on sys.path: run the code asked for
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def index_benchmark(data: Path) -> None:
    import tempfile

    video = long_video(data)
    print(f"cores {os.cpu_count()}; load average before {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for name in ("none", "local"):
            wall, cpu = _index_run(video, Path(tmp) / f"{name}.duckdb", name)
            runs[name] = (wall, cpu)
            print(f"transcriber={name}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    (w0, c0), (w1, c1) = runs["none"], runs["local"]
    added_wall, added_cpu = w1 - w0, c1 - c0
    ratio = added_wall / added_cpu if added_cpu > 0 else float("nan")
    print(
        f"transcription adds {added_wall:.1f} s wall for {added_cpu:.1f} s CPU: "
        f"ratio {ratio:.2f} (target <= 1.0); load average after {os.getloadavg()[0]:.2f}"
    )


SMALL_LINES = (
    "room four at nine",
    "room seven at eleven",
    "budget due on friday",
    "budget due on monday",
    "lunch in the north hall",
    "lunch in the south hall",
)


def slides_video(data: Path) -> Path:
    """The 2-minute 1080p OCR video (made once): three slide shots whose small line changes
    halfway, between three moving shots."""
    from videoidx.media.synth import Caption, Segment, make_video

    path = data / "ocr-2min-1080p.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    segments: list[Segment] = []
    for i in range(3):
        title = Caption(f"Slide {i + 1} of three", 72)
        for half in range(2):
            line = Caption(SMALL_LINES[2 * i + half], 18)
            segments.append(Segment("white", 10.0, captions=(title, line)))
        # ffmpeg's test pattern: moving and cheap to encode at 1080p (Conway's life is not), and
        # its running clock is text that changes every frame, as in real footage with a clock.
        segments.append(Segment("blue", 20.0, pattern=True))
    print(f"making {path}", flush=True)
    return make_video(path, segments, width_px=1920, height_px=1080, audio=False, crf=22)


def ocr_benchmark(data: Path, before: Path | None) -> None:
    import tempfile

    from videoidx.errors import SchemaVersionError
    from videoidx.store import Store, search
    from videoidx.store.search import MAX_LIMIT

    video = slides_video(data)
    print(f"cores {os.cpu_count()}; load average before {os.getloadavg()[0]:.2f}", flush=True)
    checkouts = [("this checkout", ROOT)] + ([("before", before)] if before else [])
    with tempfile.TemporaryDirectory() as tmp:
        for label, code in checkouts:
            db = Path(tmp) / f"{len(label)}.duckdb"
            wall, cpu = _index_run(video, db, "none", ocr="rapidocr", code=code)
            try:
                with Store.open(db) as store:
                    hits = search(store, "", limit=MAX_LIMIT)
            except SchemaVersionError as exc:  # a newer checkout's library
                print(f"{label} ({code}): {wall:.1f} s wall, {cpu:.1f} s CPU; not read: {exc}")
                continue
            texts = [h.label.lower() for h in hits if h.kind == "screen_text"]
            missed = [line for line in SMALL_LINES if not any(line in t for t in texts)]
            found = len(SMALL_LINES) - len(missed)
            print(
                f"{label} ({code}): {wall:.1f} s wall, {cpu:.1f} s CPU, "
                f"{found} of {len(SMALL_LINES)} small lines found, {len(texts)} text spans; "
                f"missed {missed}",
                flush=True,
            )
    print(f"load average after {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="transcribe_threads (0: engine's)")
    ap.add_argument("--index", action="store_true", help="time videoidx index with/without speech")
    ap.add_argument("--data", type=Path, default=Path("/work/bench-data"))
    ap.add_argument("--ocr", action="store_true", help="time and score on-screen text")
    ap.add_argument("--before", type=Path, help="with --ocr: another checkout to compare")
    args = ap.parse_args()
    if args.ocr:
        ocr_benchmark(args.data, args.before)
        return
    if args.index:
        index_benchmark(args.data)
        return
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
