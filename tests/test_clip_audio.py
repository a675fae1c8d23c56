"""Each clip's audio from one streamed decode: right samples at the right times, bounded memory,
no audio is no error, damaged audio is noted once and the pictures are still indexed."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

from videoidx.media.audio import SAMPLE_RATE_HZ, AudioDecoder
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.probe import probe
from videoidx.pipeline import clip_audio
from videoidx.pipeline.clip_audio import ClipAudio
from videoidx.pipeline.run import index_video
from videoidx.settings import resolve_settings
from videoidx.store import Store


def _beeps(path: Path) -> Path:
    """12 s of grey with a 1 kHz beep at 2.0 s and at 9.0 s."""
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "color=gray:s=64x48:r=10:d=12",
         "-f", "lavfi", "-i", "sine=f=1000:d=12",
         "-filter_complex", "[1:a]volume='between(t,2,2.5)+between(t,9,9.5)':eval=frame[a]",
         "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        what="making a video with beeps",
    )  # fmt: skip
    return path


def _onset_s(samples: np.ndarray, start_s: float) -> float:
    loud = np.nonzero(np.abs(samples) > 0.1)[0]
    return start_s + loud[0] / SAMPLE_RATE_HZ


def test_clips_get_their_own_samples_from_one_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = probe(_beeps(tmp_path / "beeps.mp4"))
    decodes: list[float] = []
    real_iter = AudioDecoder.__iter__

    def counted(self: AudioDecoder):  # type: ignore[no-untyped-def]
        decodes.append(self.start_s)
        return real_iter(self)

    monkeypatch.setattr(AudioDecoder, "__iter__", counted)
    monkeypatch.setattr(clip_audio, "CHUNK_S", 1.0)
    sound = ClipAudio(info)
    spans = [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0)]
    pieces = []
    for start_s, end_s in spans:
        piece = sound.take(start_s, end_s)
        assert piece is not None
        pieces.append(piece)
        # Only the current clip's chunks are held (bounded memory), never the track.
        assert sum(len(c.samples) for c in sound._held) <= (end_s - start_s + 2) * SAMPLE_RATE_HZ
    sound.close()
    assert decodes == [0.0]  # one ffmpeg for the whole video
    assert [len(p) for p in pieces] == [4 * SAMPLE_RATE_HZ] * 3
    assert _onset_s(pieces[0], 0.0) == pytest.approx(2.0, abs=0.05)
    assert np.abs(pieces[1]).max() < 0.1  # nothing loud between the beeps
    assert _onset_s(pieces[2], 8.0) == pytest.approx(9.0, abs=0.05)


def test_no_audio_stream_is_no_speech_and_no_error(tmp_path: Path) -> None:
    silent = tmp_path / "silent.mp4"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "color=red:s=64x48:r=10:d=4", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", str(silent)],
        what="making a silent video",
    )  # fmt: skip
    sound = ClipAudio(probe(silent))
    assert sound.take(0.0, 4.0) is None and sound.error == ""
    db = tmp_path / "s.duckdb"
    settings = resolve_settings({"db_path": str(db)}, env={}, config_path=os.devnull)
    result = index_video(silent, settings=settings)
    assert result.status == "done" and result.events > 0 and not result.error
    # Said once, as a note (not an error): the run wanted speech and there is no sound.
    assert [n for n in result.notes if "audio" in n] == [
        "speech: the video has no audio stream, so nothing was transcribed"
    ]


def test_damaged_audio_keeps_the_pictures_and_is_noted_once(tmp_path: Path) -> None:
    good = tmp_path / "good.mkv"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "color=gray:s=32x32:r=5:d=10",
         "-f", "lavfi", "-i", "anoisesrc=d=10:c=pink:r=44100:a=0.3",
         "-c:v", "libx264", "-c:a", "mp3", "-shortest", str(good)],
        what="making a video with noise",
    )  # fmt: skip
    data = bytearray(good.read_bytes())
    rng = random.Random(1)
    for i in range(len(data) * 4 // 10, len(data) * 6 // 10):
        data[i] = rng.randrange(256)
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(bytes(data))
    db = tmp_path / "b.duckdb"
    settings = resolve_settings(
        {"db_path": str(db), "clip_target_s": 3.0, "clip_min_s": 2.0, "clip_max_s": 4.0},
        env={},
        config_path=os.devnull,
    )
    result = index_video(bad, settings=settings)
    assert result.clips_done > 0 and result.events > 0  # the pictures are indexed
    audio_notes = [n for n in result.notes if "audio" in n]
    assert len(audio_notes) == 1 and "bad.mkv" in audio_notes[0], result.notes
    with Store.open(db) as store:
        assert store.sql("SELECT count(*) FROM clips WHERE status = 'done'")[0][0] > 0
