"""The offline indexer against videos whose truth is known: synthetic segments and real files."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import decord
import numpy as np
import pytest
from PIL import Image

from indexers import REGISTRY, create_indexer
from indexers.local import LocalIndexer, decode
from indexers.local import indexer as local_indexer
from indexers.local.decode import decode_frames
from indexers.local.spans import hysteresis_levels, merge_short_runs, runs
from indexers.local.visual import PALETTE, colour_names
from indexers.text.tesseract import parse_tsv
from tests.clip_frames import frames_at, video_info
from videoidx import index_video, resolve_settings
from videoidx.errors import ConfigError
from videoidx.media.decode import iter_frames
from videoidx.media.pictures import PictureTrack
from videoidx.media.synth import COLOURS_RGB, Segment, make_video
from videoidx.settings import Settings
from videoidx.store import Store
from videoidx.types import (
    ClipAnalysis,
    ClipInput,
    ClipSpec,
    Event,
    Frame,
    ShotCut,
    VideoInfo,
)

CUTS_S = (3.0, 5.5, 9.0)
SILENT_S = ((3.0, 5.5), (9.0, 12.0))
TONE_S = ((0.0, 3.0), (5.5, 9.0))
PATTERN_S = (5.5, 9.0)
SOLID_S = ((0.0, 3.0), (3.0, 5.5), (9.0, 12.0))


@pytest.fixture(scope="module")
def indexer() -> LocalIndexer:
    return LocalIndexer(Settings())


def _analyse(
    indexer: LocalIndexer,
    info: VideoInfo,
    start_s: float,
    end_s: float,
    cuts_s: tuple[float, ...] | None = None,
    frames: tuple[Any, ...] = (),
) -> ClipAnalysis:
    cuts = tuple(ShotCut(0, t) for t in (cuts_s or ()) if start_s <= t < end_s)
    clip = ClipSpec(info.video_id, 0, start_s, end_s)
    return indexer.analyze(ClipInput(video=info, clip=clip, frames=frames, shot_cuts=cuts))


def _of(analysis: ClipAnalysis, *labels: str) -> list[Event]:
    return [e for e in analysis.events if e.label in labels]


def _overlap(events: list[Event], start_s: float, end_s: float) -> float:
    return sum(max(0.0, min(e.end_s, end_s) - max(e.start_s, start_s)) for e in events)


def _assert_well_formed(analysis: ClipAnalysis, start_s: float, end_s: float) -> None:
    assert analysis.events, "a clip always has at least its shot"
    for e in analysis.events:
        assert start_s <= e.start_s <= e.end_s <= end_s, e
    starts = [e.start_s for e in analysis.events]
    assert starts == sorted(starts)
    keys = [e.key for e in analysis.events]
    assert len(set(keys)) == len(keys)
    assert analysis.characters == [] and analysis.links == [] and analysis.appearances == []
    assert analysis.model == "videoidx-local-3"
    assert analysis.usage.prompt_tokens == 0 and analysis.usage.cost_usd == 0.0
    record = json.loads(analysis.raw_reply)
    assert record["clip_s"] == [start_s, end_s]


def test_registered_as_the_default_indexer() -> None:
    assert "local" in REGISTRY
    made = create_indexer(Settings())
    assert isinstance(made, LocalIndexer)
    assert not made.needs_key and not made.needs_network


def test_colour_video_timeline(indexer: LocalIndexer, colour_video: Path) -> None:
    info = video_info(colour_video)
    a = _analyse(indexer, info, 0.0, info.duration_s, CUTS_S)
    _assert_well_formed(a, 0.0, info.duration_s)

    shots = _of(a, "shot")
    assert [e.start_s for e in shots] == [0.0, *CUTS_S]
    for shot, colour in zip(shots, ("red", "blue", "green", "yellow"), strict=True):
        assert f", {colour} " in shot.description and "(#" in shot.description, shot.description
    assert "bright, " in shots[3].description and "dark, " in shots[1].description

    silences = _of(a, "silence")
    assert len(silences) == len(SILENT_S)
    for e, (s, t) in zip(silences, SILENT_S, strict=True):
        assert abs(e.start_s - s) <= 0.5 and abs(e.end_s - min(t, info.duration_s)) <= 0.5
    for s, t in TONE_S:
        assert _overlap(silences, s, t) <= 0.2, "a tone was called silent"
    assert not _of(a, "loud sound"), "a steady tone is the clip's median, not a loud burst"

    moving = _of(a, "moving", "high motion")
    assert _overlap(moving, *PATTERN_S) >= 0.8 * (PATTERN_S[1] - PATTERN_S[0])
    still = _of(a, "still")
    for s, t in SOLID_S:
        assert _overlap(still, s, t) >= 0.8 * (t - s), (s, t)
    assert a.summary.startswith("12.0 s, 4 shots")
    assert "audio silent" in a.summary


def test_sub_range_gives_absolute_times_inside_its_bounds(
    indexer: LocalIndexer, colour_video: Path
) -> None:
    info = video_info(colour_video)
    a = _analyse(indexer, info, 4.0, 10.0, CUTS_S)
    _assert_well_formed(a, 4.0, 10.0)
    shots = _of(a, "shot")
    assert [(e.start_s, e.end_s) for e in shots] == [(4.0, 5.5), (5.5, 9.0), (9.0, 10.0)]
    assert "blue" in shots[0].description
    silence = _of(a, "silence")
    assert silence and abs(silence[0].start_s - 4.0) <= 0.1 and abs(silence[0].end_s - 5.5) <= 0.5


def test_detects_hard_cuts_when_none_are_given(indexer: LocalIndexer, colour_video: Path) -> None:
    info = video_info(colour_video)
    a = _analyse(indexer, info, 0.0, info.duration_s)
    record = json.loads(a.raw_reply)
    assert record["cuts"]["source"] == "detected"
    found = record["cuts"]["times_s"]
    assert len(found) == len(CUTS_S)
    for got, want in zip(found, CUTS_S, strict=True):
        assert abs(got - want) <= 0.25


def test_fades_are_not_cuts_and_not_motion(indexer: LocalIndexer, media_dir: Path) -> None:
    info = video_info(media_dir / "psd_fades.mp4")
    a = _analyse(indexer, info, 0.0, info.duration_s)
    assert len(_of(a, "shot")) == 1
    assert json.loads(a.raw_reply)["cuts"]["times_s"] == []


def test_loud_burst_in_silence(indexer: LocalIndexer, tmp_path: Path) -> None:
    path = make_video(
        tmp_path / "burst.mp4",
        [Segment("black", 3.0), Segment("white", 0.5, tone_hz=1000), Segment("black", 3.0)],
    )
    info = video_info(path)
    a = _analyse(indexer, info, 0.0, info.duration_s, (3.0, 3.5))
    _assert_well_formed(a, 0.0, info.duration_s)
    loud = _of(a, "loud sound")
    assert len(loud) == 1
    assert abs(loud[0].start_s - 3.0) <= 0.2 and abs(loud[0].end_s - 3.5) <= 0.2
    assert "dBFS" in loud[0].description
    silences = _of(a, "silence")
    assert len(silences) == 2 and silences[0].end_s <= 3.1 and silences[1].start_s >= 3.4


def test_video_without_audio(indexer: LocalIndexer, tmp_path: Path) -> None:
    path = make_video(
        tmp_path / "mute.mp4", [Segment("cyan", 2.0), Segment("magenta", 2.0)], audio=False
    )
    probed_true = video_info(path)  # claims audio: ffmpeg then finds none, which is fine too
    for info in (dataclasses.replace(probed_true, has_audio=False), probed_true):
        a = _analyse(indexer, info, 0.0, info.duration_s, (2.0,))
        _assert_well_formed(a, 0.0, info.duration_s)
        assert not _of(a, "silence", "loud sound")
        assert "no audio stream" in a.summary
        shots = _of(a, "shot")
        assert "cyan" in shots[0].description and "magenta" in shots[1].description


def test_rotated_real_video(indexer: LocalIndexer, media_dir: Path) -> None:
    path = media_dir / "dec_video_90.mov"
    info = video_info(path)
    assert info.height_px > info.width_px  # decord gives the upright (portrait) frame
    a = _analyse(indexer, info, 0.0, info.duration_s)
    _assert_well_formed(a, 0.0, info.duration_s)
    # The indexer's own decode must be upright too: compare with decord's rotated frame.
    frames = decode_frames(info, ClipSpec("x", 0, 0.0, info.duration_s), fps=5, long_side_px=128)
    got = frames.rgb[0]
    assert got.shape[0] > got.shape[1]
    upright = decord.VideoReader(str(path))[0].asnumpy()
    ref = np.asarray(Image.fromarray(upright).resize((got.shape[1], got.shape[0])))
    assert np.abs(ref.astype(float) - got.astype(float)).mean() < 12


def test_real_video_with_known_cuts(
    indexer: LocalIndexer, media_dir: Path, media_truth: dict[str, Any]
) -> None:
    info = video_info(media_dir / "skv_bikes.mp4")
    cuts = tuple(media_truth["skv_bikes.mp4"]["cut_times_s"])
    a = _analyse(indexer, info, 0.0, info.duration_s, cuts)
    _assert_well_formed(a, 0.0, info.duration_s)
    assert len(_of(a, "shot")) == len(cuts) + 1
    # Cyclists filmed from a moving camera: nothing in it is still for long.
    assert _overlap(_of(a, "still"), 0.0, info.duration_s) < 1.0
    assert _of(a, "high motion")


def test_cache_identity(indexer: LocalIndexer) -> None:
    again = LocalIndexer(Settings())
    assert indexer.cache_identity() == again.cache_identity()
    assert "videoidx-local-3" in indexer.cache_identity()
    changed = LocalIndexer(Settings().replace(local_still_below=0.01))
    assert changed.cache_identity() != indexer.cache_identity()
    no_ocr = LocalIndexer(Settings().replace(local_ocr=False))
    assert no_ocr.text_reader is None and no_ocr.cache_identity().endswith("|ocr=off")


def test_invalid_thresholds_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="local_still_below"):
        LocalIndexer(Settings().replace(local_still_below=0.1, local_high_motion_above=0.05))
    with pytest.raises(ConfigError, match="local_sample_fps"):
        LocalIndexer(Settings().replace(local_sample_fps=0))


def test_on_screen_text_with_tesseract(media_dir: Path) -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed; on-screen text is optional")
    path = media_dir / "psd_counter.mp4"
    info = video_info(path)
    indexer = LocalIndexer(Settings())
    frames = tuple(frames_at(path, [0.5, 1.5, 2.5], long_side_px=448))
    a = _analyse(indexer, info, 0.0, info.duration_s, frames=frames)
    _assert_well_formed(a, 0.0, info.duration_s)
    texts = _of(a, "on-screen text")
    assert texts and any("Frame" in e.on_screen_text for e in texts)
    assert any("Frame" in e.on_screen_text for e in _of(a, "shot"))
    assert "on-screen text" in a.summary


def test_colour_names_of_the_synthetic_palette() -> None:
    expected = {name: name for name in COLOURS_RGB}
    rgb = np.array([COLOURS_RGB[n] for n in expected], dtype=np.uint8)
    got = [PALETTE[i] for i in colour_names(rgb)]
    assert got == list(expected.values())


def test_hysteresis_keeps_one_level_near_a_threshold() -> None:
    values = np.array([0.0, 0.0] + [0.0085, 0.0075] * 2 + [0.03] * 6 + [0.001] + [0.03] * 2)
    levels = hysteresis_levels(values, (0.008, 0.06))
    assert levels.tolist() == [0] * 6 + [1] * 6 + [0] + [1] * 2
    t = np.arange(len(values) + 1) * 0.2
    merged = merge_short_runs(runs(levels, t[:-1], t[1:]), 1.0)
    spans = [(r.level, round(r.start_s, 1), round(r.end_s, 1)) for r in merged]
    assert spans == [(0, 0.0, 1.2), (1, 1.2, 3.0)]


@pytest.mark.parametrize(
    ("tsv", "expected"),
    [
        (
            "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight"
            "\tconf\ttext\n"
            "5\t1\t1\t1\t1\t1\t307\t187\t82\t20\t96.7\tFrame\n"
            "5\t1\t1\t1\t1\t2\t398\t193\t12\t9\t81.1\t=\n"
            "5\t1\t1\t1\t1\t3\t420\t187\t13\t20\t81.1\t6\n"
            "5\t1\t2\t1\t1\t1\t304\t220\t51\t20\t30.0\tPTS\n",
            ("Frame = 6",),
        ),
        ("level\tpage_num\n", ()),
        ("level\n5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t95.0\tab\n", ()),
    ],
)
def test_parse_tesseract_tsv(tsv: str, expected: tuple[str, ...]) -> None:
    assert parse_tsv(tsv).lines == expected


def test_jpeg_frames_outside_the_clip_are_not_read(tmp_path: Path) -> None:
    # OCR frames come from the caller; a stray one outside the clip must not make an event.
    image = Image.new("RGB", (64, 64), "white")
    buf = io.BytesIO()
    image.save(buf, format="JPEG")
    path = make_video(tmp_path / "plain.mp4", [Segment("white", 2.0)], audio=False)
    info = video_info(path)
    a = _analyse(
        LocalIndexer(Settings()), info, 0.0, 1.0, frames=(Frame(1.8, buf.getvalue(), 64, 64),)
    )
    _assert_well_formed(a, 0.0, 1.0)
    assert not _of(a, "on-screen text")


def test_clips_are_measured_one_per_core_however_many_the_batch_sends(
    colour_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch hands the indexer `concurrency` clips at once; each measurement is an ffmpeg
    # decode of full-size frames, so more at once than cores only multiplies the memory.
    monkeypatch.setattr(local_indexer, "_MEASURING", threading.BoundedSemaphore(1))
    real_decode = decode.decode_frames
    lock = threading.Lock()
    running = [0]
    most = [0]

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)  # long enough for every thread to arrive while one decodes
        try:
            return real_decode(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(decode, "decode_frames", counting_decode)
    indexer = LocalIndexer(Settings())
    info = video_info(colour_video)
    results: list[ClipAnalysis] = []
    threads = [
        threading.Thread(target=lambda: results.append(_analyse(indexer, info, 0.0, 3.0)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r.events for r in results)
    assert most[0] == 1
    assert local_indexer.MEASURE_SLOTS >= 1


def test_a_run_measures_the_scans_own_pictures_and_sound_and_decodes_no_clip_again(
    colour_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scan already decoded every frame; a second decode per clip cost 1.55 s of CPU and a
    # 55 MB ffmpeg on 25 s of 1080p. The run must hand over its pictures instead, in the right
    # colours (a swapped chroma plane turns the red shot blue) and at the indexer's rate. Its
    # sound too, from the run's one decode of the video's audio, even with speech off (an
    # ffmpeg per clip for the level was the rest of the second decode).
    def no_second_decode(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the clip was decoded a second time")

    monkeypatch.setattr(decode, "decode_frames", no_second_decode)
    monkeypatch.setattr(decode, "decode_audio", no_second_decode)
    given: list[ClipInput] = []
    real_analyze = LocalIndexer._analyze

    def recording(self: LocalIndexer, clip: ClipInput, cancel: Any) -> ClipAnalysis:
        given.append(clip)
        return real_analyze(self, clip, cancel)

    monkeypatch.setattr(LocalIndexer, "_analyze", recording)
    flags = {
        "db_path": str(tmp_path / "p.duckdb"),
        "indexer": "local",
        "transcriber": "none",
        "ocr_engine": "off",
        "embedder": "none",
    }
    settings = resolve_settings(flags, env={}, config_path=os.devnull)
    result = index_video(colour_video, settings=settings)
    assert result.status == "done" and not result.error

    assert given and all(c.pictures is not None for c in given)
    for clip in given:
        pics = clip.pictures
        assert pics is not None and pics.fps == Settings().provider.local_sample_fps
        assert pics.rgb.shape[1:] == (72, 128, 3) and len(pics.rgb) == len(pics.times_s)
        assert clip.clip.start_s - 1e-6 <= pics.times_s[0] < clip.clip.start_s + 0.2
        assert np.allclose(np.diff(pics.times_s), 1 / pics.fps, atol=0.02)
        sound = clip.audio
        assert sound is not None and sound.dtype == np.float32
        assert abs(len(sound) / decode.AUDIO_RATE_HZ - clip.clip.duration_s) <= 0.05
    with Store.open(tmp_path / "p.duckdb") as store:
        events = store.events(result.video_id)
    silences = [e for e in events if e.label == "silence"]
    for s, t in SILENT_S:
        assert _overlap(silences, s, t) >= 0.8 * (t - s), (s, t)
    for s, t in TONE_S:
        assert _overlap(silences, s, t) <= 0.2, "a tone was called silent"
    shots = [e for e in events if e.label == "shot"]
    # The run's own detector places the cuts (within two frames of the truth).
    assert np.allclose([e.start_s for e in shots], [0.0, *CUTS_S], atol=0.1)
    for shot, colour in zip(shots, ("red", "blue", "green", "yellow"), strict=True):
        assert f", {colour} " in shot.description, shot.description
    moving = [e for e in events if e.label in ("moving", "high motion")]
    assert _overlap(moving, *PATTERN_S) >= 0.8 * (PATTERN_S[1] - PATTERN_S[0])
    still = [e for e in events if e.label == "still"]
    for s, t in SOLID_S:
        assert _overlap(still, s, t) >= 0.8 * (t - s), (s, t)


def test_the_scans_pictures_follow_the_clips(colour_video: Path) -> None:
    info = video_info(colour_video)
    track = PictureTrack(5.0)
    for batch in iter_frames(info, 320, 240):
        track.add(batch)
    whole = track.of(ClipSpec(info.video_id, 0, 0.0, info.duration_s), last=True)
    # One picture per 0.2 s slot of the 25 fps video, the last frame's slot included.
    assert np.allclose(whole.times_s, np.arange(len(whole.times_s)) * 0.2, atol=1e-6)
    assert whole.times_s[-1] > info.duration_s - 0.2
    middle = track.of(ClipSpec(info.video_id, 1, 3.0, 5.5), last=False)
    assert middle.times_s[0] == pytest.approx(3.0) and middle.times_s[-1] < 5.5
    # The blue shot (3.0-5.5 s): blue well above red in every picture.
    assert (middle.rgb[..., 2].mean(axis=(1, 2)) > middle.rgb[..., 0].mean(axis=(1, 2)) + 50).all()
    track.forget_before(5.0)
    assert track.of(ClipSpec(info.video_id, 1, 3.0, 5.5), last=False).times_s[0] >= 5.0
