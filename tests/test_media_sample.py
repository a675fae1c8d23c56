"""Frame sampling: exact times, upright frames, 28-px cells, budget, dedupe, one-pass scan."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from videoidx import plan_clips, probe, sample_clip, sample_frames, scan_video
from videoidx.media.sample import apply_budget, choose_frames, output_size_px
from videoidx.media.scan import detect_shots, read_frames
from videoidx.media.synth import COLOURS_RGB
from videoidx.settings import MediaSettings
from videoidx.types import ClipSpec


def decode_jpeg(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.parametrize(
    ("w", "h", "long_side", "expected"),
    [
        (1280, 720, 448, (448, 252)),
        (720, 1280, 448, (252, 448)),
        (176, 144, 448, (168, 140)),
        (1920, 1080, 1000, (980, 560)),
        (50, 50, 448, (28, 28)),
    ],
)
def test_output_size(w: int, h: int, long_side: int, expected: tuple[int, int]) -> None:
    size = output_size_px(w, h, long_side)
    assert size == expected
    assert size[0] % 28 == 0 and size[1] % 28 == 0


def test_choose_frames_covers_gaps_and_keeps_anchors() -> None:
    times = np.arange(0, 30, 1 / 25)
    clip = ClipSpec("v", 0, 3.3, 21.7)
    picks = choose_frames(times, clip, keyframes=[0, 250, 500], cut_frames=[300], max_gap_s=2.0)
    idx = [i for i, _ in picks]
    reasons = dict(picks)
    assert reasons[250] == "keyframe" and reasons[500] == "keyframe" and reasons[300] == "shot"
    assert 0 not in reasons  # outside the clip
    t = [clip.start_s, *(times[i] for i in idx), clip.end_s]
    assert max(np.diff(t)) <= 2.0 + 1e-6
    assert idx == sorted(idx)


def test_budget_drops_fill_first_and_keeps_coverage_even() -> None:
    times = np.arange(0, 40, 1 / 25)
    items = [(i * 25, "fill") for i in range(0, 40, 2)] + [(101, "shot"), (500, "keyframe")]
    kept = apply_budget(items, times, 8)
    assert len(kept) == 8
    assert (101, "shot") in kept and (500, "keyframe") in kept
    gaps = np.diff([times[i] for i, _ in kept])
    assert max(gaps) <= 3 * min(gaps) + 8  # spread out, not clumped at one end
    assert apply_budget([(1, "keyframe"), (2, "shot"), (3, "fill")], times, 1) == [(1, "keyframe")]


def test_counter_frames_match_references(media_dir: Path) -> None:
    info = probe(media_dir / "psd_counter.mp4")
    refs = {k: media_dir / "counter_frames" / f"frame{k + 1:03d}.png" for k in (0, 9, 10, 17, 29)}
    frames = read_frames(info, list(refs))
    for (k, ref), got in zip(refs.items(), frames, strict=True):
        want = np.asarray(Image.open(ref).convert("RGB")).astype(np.int16)
        assert got.shape == want.shape
        assert np.abs(got.astype(np.int16) - want).mean() < 3.0, k


def test_sampling_maps_times_to_the_right_frames(media_dir: Path) -> None:
    # Every sampled frame of the counter video must show the reference frame of its index:
    # sampled near full size, since neighbouring counter frames differ only in a small caption.
    info = probe(media_dir / "psd_counter.mp4")
    m = MediaSettings(
        frame_max_gap_s=0.2, dedupe_threshold=0.0, frame_budget=50, frame_long_side_px=1920
    )
    frames = sample_clip(info, ClipSpec(info.video_id, 0, 0.0, info.duration_s), m)
    assert len(frames) >= 15
    size = (frames[0].width_px, frames[0].height_px)
    refs = [
        np.asarray(
            Image.open(media_dir / "counter_frames" / f"frame{j + 1:03d}.png")
            .convert("RGB")
            .resize(size)
        ).astype(np.int16)
        for j in range(30)
    ]
    for f in frames:
        assert f.frame_index == round(f.time_s * 10)
        got = decode_jpeg(f.jpeg).astype(np.int16)
        diffs = [np.abs(got - ref).mean() for ref in refs]
        assert int(np.argmin(diffs)) == f.frame_index
        assert diffs[f.frame_index] < 3.0


def test_sample_clip_seeks_to_a_later_clip(media_dir: Path) -> None:
    info = probe(media_dir / "psd_counter.mp4")
    m = MediaSettings(frame_max_gap_s=0.4, dedupe_threshold=0.0)
    frames = sample_clip(info, ClipSpec(info.video_id, 1, 1.5, 2.6), m)
    # The first frame is the first fill-grid frame (every max_gap/2) at or after the start.
    assert frames[0].frame_index == 16 and frames[0].time_s == pytest.approx(1.6)
    assert [f.frame_index for f in frames] == [16, 20, 24]  # greedy: gaps of max_gap_s
    assert all(1.5 - 1e-6 <= f.time_s < 2.6 for f in frames)


@pytest.mark.parametrize("name", ["dec_video_90.mov", "dec_video_270.mov", "mpy_fire2.mp4"])
def test_rotated_videos_come_out_upright(media_dir: Path, name: str) -> None:
    info = probe(media_dir / name)
    m = MediaSettings(dedupe_threshold=0.0)
    frames = sample_clip(info, ClipSpec(info.video_id, 0, 0.0, info.duration_s), m)
    first = frames[0]
    assert (first.width_px > first.height_px) == (info.width_px > info.height_px)
    upright = read_frames(info, [first.frame_index])[0]  # decord applies the rotation
    want = np.asarray(Image.fromarray(upright).resize((first.width_px, first.height_px)))
    assert np.abs(decode_jpeg(first.jpeg).astype(np.int16) - want).mean() < 8.0
    flipped = want[::-1, ::-1].astype(np.int16)
    assert np.abs(decode_jpeg(first.jpeg).astype(np.int16) - flipped).mean() > 15.0


def test_delayed_start_begins_at_zero(media_dir: Path) -> None:
    info = probe(media_dir / "psd_delayed_start.mp4")
    frames = sample_clip(info, ClipSpec(info.video_id, 0, 0.0, info.duration_s), MediaSettings())
    assert frames[0].time_s < 0.1 and frames[0].frame_index == 0


def test_one_pass_scan_of_the_colour_video(colour_video: Path) -> None:
    m = MediaSettings(clip_target_s=6, clip_min_s=3, clip_max_s=8, shot_snap_s=2.0)
    scan = scan_video(colour_video, m)
    out = list(scan)
    assert [round(c.time_s * 25) for c in scan.cuts] == pytest.approx([75, 137.5, 225], abs=1)
    assert [c for c, _ in out] == scan.clips == plan_clips(probe(colour_video), scan.cuts, m)
    for clip, frames in out:
        assert frames, clip
        for f in frames:
            assert clip.start_s - 1e-6 <= f.time_s < clip.end_s + 1e-6
            assert (f.width_px, f.height_px) == (308, 224)
            assert decode_jpeg(f.jpeg).shape == (224, 308, 3)
    frames = [f for _, fs in out for f in fs]
    sampled = {f.frame_index for f in frames}
    assert {c.frame for c in scan.cuts} <= sampled  # every shot's first frame is sampled
    # The solid red segment is one picture: dedupe keeps one red frame, at t = 0.
    red = [f for f in frames if f.time_s < 3.0]
    assert len(red) == 1 and red[0].time_s == 0.0
    pixel = decode_jpeg(red[0].jpeg)[100, 150]
    assert np.abs(pixel.astype(int) - COLOURS_RGB["red"]).max() < 40


def test_scan_matches_separate_shots_and_sampling(colour_video: Path) -> None:
    m = MediaSettings(dedupe_threshold=0.0)
    scan = scan_video(colour_video, m)
    together = list(scan)
    info = probe(colour_video)
    cuts = detect_shots(colour_video)
    assert cuts == scan.cuts
    apart = list(sample_frames(info, plan_clips(info, cuts, m), m, cuts=cuts))
    assert [(c, [f.frame_index for f in fs]) for c, fs in together] == [
        (c, [f.frame_index for f in fs]) for c, fs in apart
    ]


def test_no_gap_exceeds_the_setting_and_budget_holds(colour_video: Path) -> None:
    m = MediaSettings(dedupe_threshold=0.0, frame_max_gap_s=1.0, frame_budget=40)
    info = probe(colour_video)
    ((clip, frames),) = sample_frames(info, [ClipSpec(info.video_id, 0, 0.0, 12.0)], m)
    t = [0.0, *(f.time_s for f in frames), clip.end_s]
    assert max(np.diff(t)) <= 1.0 + 1e-6
    ((_, few),) = sample_frames(info, [clip], MediaSettings(dedupe_threshold=0.0, frame_budget=4))
    assert len(few) == 4


def test_burned_timestamps_change_the_corner(colour_video: Path) -> None:
    info = probe(colour_video)
    clip = ClipSpec(info.video_id, 0, 0.0, 2.0)
    plain = sample_clip(info, clip, MediaSettings())[0]
    burned = sample_clip(info, clip, MediaSettings(burn_timestamps=True))[0]
    a, b = decode_jpeg(plain.jpeg).astype(int), decode_jpeg(burned.jpeg).astype(int)
    assert np.abs(a[:20, :60] - b[:20, :60]).mean() > 20
    assert np.abs(a[100:, 100:] - b[100:, 100:]).mean() < 2


def test_keyframe_mode_samples_only_keyframes(media_dir: Path) -> None:
    info = probe(media_dir / "dec_flipping_a_pancake.mkv")  # keyframes 0, 150, 300
    m = MediaSettings(sample_mode="keyframes", dedupe_threshold=0.0)
    scan = scan_video(info, m)
    frames = [f for _, fs in scan for f in fs]
    assert [f.frame_index for f in frames] == [0, 150, 300]
    assert all(f.reason == "keyframe" for f in frames)
    assert scan.cuts == []


def test_detect_shots_decodes_at_the_settings_long_side(colour_video: Path) -> None:
    # The cut scores depend on the decode size; with a small long side set, detect_shots must
    # find the very cuts (scores included) of a scan pass with the same settings.
    m = MediaSettings(frame_long_side_px=56)
    scan = scan_video(colour_video, m)
    list(scan)
    cuts = detect_shots(colour_video, m)
    assert cuts and cuts == scan.cuts
    assert detect_shots(colour_video, MediaSettings(shot_threshold=0.99)) == []


def test_large_frames_come_in_batches_bounded_by_bytes(
    colour_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader holds up to five batches; 64 frames of a text-reading size were 45 MB each.
    # Batches are bounded by bytes (here: three frames' worth), and every frame still arrives.
    from videoidx.media import decode

    info = probe(colour_video)
    stride, rows = decode.stacked_size(info.width_px, info.height_px)
    frame_bytes = stride * rows * 3 // 2
    whole = list(decode.iter_frames(info, info.width_px, info.height_px))
    assert max(len(b.indices) for b in whole) == decode.BATCH_FRAMES  # small frames: 64 a batch
    monkeypatch.setattr(decode, "CHUNK_BYTES", frame_bytes * 3 + 1)
    bounded = list(decode.iter_frames(info, info.width_px, info.height_px))
    assert max(len(b.indices) for b in bounded) == 3
    assert np.array_equal(
        np.concatenate([b.indices for b in bounded]), np.concatenate([b.indices for b in whole])
    )
