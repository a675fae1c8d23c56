"""Audio decoding (``videoidx.media.audio``): 16 kHz mono on the pictures' clock, streamed.

Every file is made here with ffmpeg so its truth is exact: a 0.5 s beep at a known time in an
audio stream that starts after (or before) the pictures, a file whose audio data is overwritten
with noise, a 3-hour file. The beep is found by its first loud sample.
"""

from __future__ import annotations

import io
import itertools
import random
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from videoidx.errors import AudioDecodeError
from videoidx.media.audio import (
    SAMPLE_RATE_HZ,
    AudioDecoder,
    iter_audio,
    parse_audio_streams,
    quiet_cuts,
    wav_bytes,
    wav_size_bytes,
)
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.probe import probe


def _beep_wav(path: Path, at_s: float, total_s: float) -> Path:
    """A 44.1 kHz WAV: silence, a 0.5 s 1 kHz beep at ``at_s``, silence up to ``total_s``."""
    pad = total_s - at_s - 0.5
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "sine=f=1000:d=0.5", "-af",
         f"adelay={int(at_s * 1000)},apad=pad_dur={pad}", "-ar", "44100", str(path)],
        what="making a beep",
    )  # fmt: skip
    return path


def _colour(path: Path, duration_s: float) -> Path:
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", f"color=red:s=64x48:r=25:d={duration_s}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        what="making a colour video",
    )  # fmt: skip
    return path


def _mux(
    out: Path, video: Path, audio: Path, *, video_delay_s: float, audio_delay_s: float
) -> Path:
    run_ffmpeg(
        ["-y", "-itsoffset", str(video_delay_s), "-i", str(video),
         "-itsoffset", str(audio_delay_s), "-i", str(audio),
         "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(out)],
        what="muxing",
    )  # fmt: skip
    return out


def _onset_s(chunks: list) -> float:  # type: ignore[type-arg]
    """Absolute time of the first loud sample."""
    for chunk in chunks:
        loud = np.nonzero(np.abs(chunk.samples) > 0.1)[0]
        if len(loud):
            return float(chunk.start_s + loud[0] / SAMPLE_RATE_HZ)
    raise AssertionError("no beep found")


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("audio")
    return {"video": _colour(d / "red.mp4", 6.0), "beep": _beep_wav(d / "beep.wav", 1.0, 4.5)}


def test_audio_that_starts_late_is_placed_at_its_time(
    parts: dict[str, Path], tmp_path: Path
) -> None:
    """Audio 2 s after the pictures: the beep (1 s into the audio) plays at 3 s of the video.
    A plain PCM pipe would put it at 1 s, because raw samples carry no timestamps."""
    path = _mux(
        tmp_path / "late.mp4", parts["video"], parts["beep"], video_delay_s=0, audio_delay_s=2
    )
    info = probe(path)
    chunks = list(AudioDecoder(info, chunk_s=1.0))
    assert _onset_s(chunks) == pytest.approx(3.0, abs=0.01)
    assert chunks[0].start_s == 0.0
    assert max(len(c.samples) for c in chunks) == SAMPLE_RATE_HZ  # bounded by chunk_s
    for a, b in itertools.pairwise(chunks):  # contiguous, no gap, no overlap
        assert b.start_s == pytest.approx(a.end_s, abs=1e-9)


def test_pictures_that_start_late_set_time_zero(parts: dict[str, Path], tmp_path: Path) -> None:
    """The pictures start 0.4 s into the file (t = 0 is their first frame): the beep at 1 s of
    the audio is at 0.6 s of the video, and the sound before the first frame is dropped."""
    path = _mux(
        tmp_path / "vlate.mp4", parts["video"], parts["beep"], video_delay_s=0.4, audio_delay_s=0
    )
    info = probe(path)
    assert info.start_offset_s == pytest.approx(0.4, abs=0.01)
    chunks = list(iter_audio(info))
    assert _onset_s(chunks) == pytest.approx(0.6, abs=0.01)
    total_s = sum(c.duration_s for c in chunks)
    assert total_s == pytest.approx(4.5 - 0.4, abs=0.05)


def test_a_window_of_the_audio_keeps_absolute_times(parts: dict[str, Path], tmp_path: Path) -> None:
    path = _mux(
        tmp_path / "late.mp4", parts["video"], parts["beep"], video_delay_s=0, audio_delay_s=2
    )
    info = probe(path)
    chunks = list(AudioDecoder(info, start_s=2.5, end_s=4.0))
    assert chunks[0].start_s == 2.5
    assert chunks[-1].end_s == pytest.approx(4.0, abs=1e-6)
    assert _onset_s(chunks) == pytest.approx(3.0, abs=0.01)
    # From before the audio stream starts (at 2 s): padded with silence up to it.
    early = list(AudioDecoder(info, start_s=1.0, end_s=4.0))
    assert early[0].start_s == 1.0 and _onset_s(early) == pytest.approx(3.0, abs=0.01)
    assert sum(c.duration_s for c in early) == pytest.approx(3.0, abs=1e-6)
    assert np.max(np.abs(early[0].samples[: SAMPLE_RATE_HZ // 2])) == 0.0
    # Pictures that start late: the window counts from the first frame too.
    vlate = _mux(
        tmp_path / "vlate.mp4", parts["video"], parts["beep"], video_delay_s=0.4, audio_delay_s=0
    )
    window = list(AudioDecoder(probe(vlate), start_s=0.3, end_s=2.0))
    assert window[0].start_s == 0.3 and _onset_s(window) == pytest.approx(0.6, abs=0.01)


def test_no_audio_stream_gives_nothing_and_no_error(media_dir: Path) -> None:
    info = probe(media_dir / "psd_delayed_start.mp4")  # pictures only, starting at 1.075 s
    assert not info.has_audio
    assert list(iter_audio(info)) == []


def test_the_moviepy_failing_audio_file_is_read_whole(media_dir: Path) -> None:
    """moviepy's "failing audio" file troubles Python readers, not ffmpeg: all 11.23 s come out,
    with its sound in the first 5 s and digital silence after."""
    info = probe(media_dir / "mpy_video_with_failing_audio.mp4")
    decoder = AudioDecoder(info)
    samples = np.concatenate([c.samples for c in decoder])
    assert len(samples) / SAMPLE_RATE_HZ == pytest.approx(11.23, abs=0.05)
    assert decoder.decode_errors == 0
    assert np.sqrt(np.mean(samples[: 4 * SAMPLE_RATE_HZ] ** 2)) > 0.005


def test_damaged_audio_is_handed_over_then_reported(tmp_path: Path) -> None:
    """A Matroska file whose middle is overwritten with noise: the audio that can be read comes
    out on its clock, then AudioDecodeError says what happened (the pipeline notes it and keeps
    the pictures)."""
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
    decoder = AudioDecoder(probe(bad))
    chunks = []
    with pytest.raises(AudioDecodeError, match="damaged") as info:
        for chunk in decoder:
            chunks.append(chunk)
    assert chunks and chunks[0].start_s == 0.0
    assert info.value.decoded_s == pytest.approx(sum(c.duration_s for c in chunks))
    assert "bad.mkv" in str(info.value) and "Re-export" in str(info.value)


def _rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_three_hours_of_audio_stream_in_bounded_memory(tmp_path: Path) -> None:
    """A 3-hour file (a tone as 8 kHz PCM, one frame every 5 s: quick to make) decodes to 691 MB
    of samples; streamed in 30 s chunks, the process grows by a few MB, not by the whole."""
    if not Path("/proc/self/status").is_file():
        pytest.skip("needs /proc to measure memory")
    path = tmp_path / "long.mkv"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "color=black:s=16x16:r=0.2:d=10800",
         "-f", "lavfi", "-i", "sine=f=440:r=8000:d=10800",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_u8", str(path)],
        what="making a 3-hour file", timeout_s=240,
    )  # fmt: skip
    info = probe(path)
    before = peak = _rss_bytes()
    total = 0
    for chunk in AudioDecoder(info):
        total += len(chunk.samples)
        peak = max(peak, _rss_bytes())
    assert total / SAMPLE_RATE_HZ == pytest.approx(10800, abs=1)
    assert peak - before < 64 * 2**20, f"grew by {(peak - before) / 2**20:.0f} MB"
    # Resuming near the end seeks there instead of decoding three hours first (0.2 s here;
    # decoding from the start to throw it away took 4 s).
    started = time.monotonic()
    tail = list(AudioDecoder(info, start_s=10790.0))
    assert tail[0].start_s == 10790.0
    assert sum(c.duration_s for c in tail) == pytest.approx(10, abs=0.1)
    assert time.monotonic() - started < 1.5


def test_leaving_the_loop_early_stops_ffmpeg(parts: dict[str, Path], tmp_path: Path) -> None:
    path = _mux(
        tmp_path / "late.mp4", parts["video"], parts["beep"], video_delay_s=0, audio_delay_s=2
    )
    gen = iter(AudioDecoder(probe(path), chunk_s=0.5))
    first = next(gen)
    gen.close()  # runs the generator's cleanup: kill and reap ffmpeg
    assert first.duration_s == 0.5


def test_the_default_audio_stream_is_chosen() -> None:
    text = (
        "  Stream #0:0: Video: h264, yuv420p, 64x48 (default)\n"
        "  Stream #0:1(eng): Audio: aac, 44100 Hz, stereo\n"
        "  Stream #0:2(fra): Audio: aac, 44100 Hz, stereo (default)\n"
    )
    assert parse_audio_streams(text) == 2
    assert parse_audio_streams(text.replace(" (default)\n", "\n")) == 1
    assert parse_audio_streams("  Stream #0:0: Video: h264 (default)\n") is None


def test_wav_bytes_round_trip() -> None:
    samples = (0.5 * np.sin(np.linspace(0, 200 * np.pi, SAMPLE_RATE_HZ))).astype(np.float32)
    data = wav_bytes(samples)
    assert len(data) == wav_size_bytes(1.0)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE_HZ)
        back = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32767.0
    assert np.max(np.abs(back - samples)) < 1e-3


def test_quiet_cuts_fall_in_pauses_and_respect_the_limit() -> None:
    rate = SAMPLE_RATE_HZ
    rng = np.random.default_rng(0)
    speech = (0.3 * rng.standard_normal(75 * rate)).astype(np.float32)
    for pause_s in (22.0, 49.0):  # two 0.4 s pauses
        speech[int(pause_s * rate) : int((pause_s + 0.4) * rate)] = 0
    cuts = quiet_cuts(speech, 30.0)
    bounds = [0, *cuts, len(speech)]
    assert all(b - a <= 30 * rate for a, b in itertools.pairwise(bounds))
    assert [round(c / rate, 1) for c in cuts] == [
        pytest.approx(22.2, abs=0.25),
        pytest.approx(49.2, abs=0.25),
    ]
    # No pause in reach: cut at the limit.
    loud = (0.3 * rng.standard_normal(65 * rate)).astype(np.float32) + 0.5
    assert all(
        b - a <= 30 * rate
        for a, b in zip(
            [0, *quiet_cuts(loud, 30.0)], [*quiet_cuts(loud, 30.0), len(loud)], strict=False
        )
    )
    assert quiet_cuts(speech[: 10 * rate], 30.0) == []
