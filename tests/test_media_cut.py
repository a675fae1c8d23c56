"""cut_clip: stream copy reports keyframe-snapped bounds; re-encode is exact, small and upright."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoidx import cut_clip, probe
from videoidx.media.decode import frame_index
from videoidx.media.synth import Segment, make_video
from videoidx.types import ClipSpec


@pytest.fixture(scope="module")
def gop_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s with a keyframe every 2 s (50 frames), a tone throughout."""
    path = tmp_path_factory.mktemp("cut") / "gop.mp4"
    segs = [Segment("red", 5, tone_hz=440, pattern=True), Segment("blue", 15, tone_hz=660)]
    return make_video(path, segs, gop_frames=50)


def test_copy_snaps_start_to_the_keyframe_before(gop_video: Path, tmp_path: Path) -> None:
    info = probe(gop_video)
    clip = ClipSpec(info.video_id, 1, 5.0, 13.0)
    out = cut_clip(info, clip, tmp_path / "c.mp4", mode="copy")
    key_times = [float(frame_index(info).times_s[k]) for k in frame_index(info).keyframes]
    assert out.start_s in key_times and out.start_s <= 5.0 < out.start_s + 2.0 + 1e-6
    written = probe(out.path)
    assert written.duration_s == pytest.approx(out.end_s - out.start_s, abs=0.05)
    # A copy ends on a packet boundary, a few frames past the asked end: reported as written.
    assert 13.0 - 0.05 <= out.end_s <= 13.3
    assert written.has_audio and written.codec == "h264"


def test_encode_is_exact_and_browser_friendly(gop_video: Path, tmp_path: Path) -> None:
    info = probe(gop_video)
    clip = ClipSpec(info.video_id, 1, 5.0, 13.0)
    out = cut_clip(info, clip, tmp_path / "e.mp4", mode="encode", long_side_px=160)
    assert (out.start_s, out.end_s) == (5.0, 13.0)
    written = probe(out.path)
    assert written.duration_s == pytest.approx(8.0, abs=0.1)
    assert (written.width_px, written.height_px) == (160, 120)
    assert written.codec == "h264" and written.has_audio
    head = out.path.read_bytes()[:64]
    assert b"ftyp" in head and b"moov" in out.path.read_bytes()[:4096]  # +faststart


def test_encode_makes_rotated_video_upright(media_dir: Path, tmp_path: Path) -> None:
    info = probe(media_dir / "dec_video_90.mov")
    clip = ClipSpec(info.video_id, 0, 0.0, info.duration_s)
    written = probe(cut_clip(info, clip, tmp_path / "r.mp4", mode="encode").path)
    assert written.rotation_deg == 0
    assert (written.width_px, written.height_px) == (info.width_px, info.height_px)


@pytest.mark.parametrize("mode", ["copy", "encode"])
def test_a_late_starting_file_is_cut_from_its_first_frame(
    media_dir: Path, tmp_path: Path, mode: str
) -> None:
    info = probe(media_dir / "psd_delayed_start.mp4")
    assert info.start_offset_s > 1.0
    whole = ClipSpec(info.video_id, 0, 0.0, info.duration_s)
    written = probe(cut_clip(info, whole, tmp_path / f"{mode}.mp4", mode=mode).path)
    assert written.frame_count == info.frame_count
    assert written.duration_s == pytest.approx(info.duration_s, abs=0.05)
