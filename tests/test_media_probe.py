"""probe: sizes, rotation, rates, start offsets and the content hash, against upstream truth."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from videoidx import probe
from videoidx.cli import main

ROTATED = ["dec_video_0.mov", "dec_video_90.mov", "dec_video_180.mov", "dec_video_270.mov"]


@pytest.mark.parametrize("name", ROTATED)
def test_rotation_and_display_size(media_dir: Path, media_truth: dict[str, Any], name: str) -> None:
    info = probe(media_dir / name)
    truth = media_truth[name]
    assert [info.height_px, info.width_px] == truth["display_hw"]
    assert info.rotation_deg == truth["rotation_deg"]
    assert info.frame_count == truth["frames"]


def test_vfr_and_rotation_of_fire2(media_dir: Path, media_truth: dict[str, Any]) -> None:
    truth = media_truth["mpy_fire2.mp4"]
    info = probe(media_dir / "mpy_fire2.mp4")
    assert info.variable_frame_rate is truth["variable_frame_rate"]
    assert info.rotation_deg == truth["rotation_deg"]
    assert info.frame_count == truth["frames"]
    assert info.fps_avg == pytest.approx(truth["avg_fps"], abs=0.01)
    assert (info.width_px, info.height_px) == tuple(truth["size"])
    assert info.has_audio


@pytest.mark.parametrize(
    "name",
    ["skv_bikes.mp4", "psd_testvideo.mp4", "psd_fades.mp4", "mpy_chaplin.mp4", "psd_counter.mp4"],
)
def test_constant_rate_files(media_dir: Path, media_truth: dict[str, Any], name: str) -> None:
    truth = media_truth[name]
    info = probe(media_dir / name)
    fps = truth["fps"]
    expected_fps = eval(fps) if isinstance(fps, str) else fps  # "30000/1001"
    assert info.frame_count == truth["frames"]
    assert info.fps_nominal == pytest.approx(expected_fps, abs=0.01)
    assert info.fps_avg == pytest.approx(expected_fps, abs=0.01)
    assert info.duration_s == pytest.approx(truth["frames"] / expected_fps, abs=0.01)
    assert (info.width_px, info.height_px) == tuple(truth["size"])
    assert info.codec == truth["codec"].split()[0]
    assert not info.variable_frame_rate


def test_millisecond_timebase_jitter_is_not_vfr(media_dir: Path) -> None:
    info = probe(media_dir / "dec_flipping_a_pancake.mkv")
    assert not info.variable_frame_rate
    assert info.has_audio  # opus
    assert info.codec == "h264"


def test_delayed_start_is_normalised(media_dir: Path, media_truth: dict[str, Any]) -> None:
    info = probe(media_dir / "psd_delayed_start.mp4")
    truth = media_truth["psd_delayed_start.mp4"]
    assert info.start_offset_s == pytest.approx(truth["stream_start_time_s"])
    assert info.duration_s == pytest.approx(truth["frames"] / truth["fps"], abs=0.01)


def test_sample_aspect_ratio_widens_display(media_dir: Path) -> None:
    info = probe(media_dir / "skv_carphone_pristine.mp4")  # 176x144, SAR 128:117
    assert info.height_px == 144
    assert info.width_px == pytest.approx(176 * 128 / 117, abs=1)


def test_video_id_is_content_not_name(colour_video: Path, tmp_path: Path) -> None:
    copy = tmp_path / "renamed.mp4"
    shutil.copy(colour_video, copy)
    a, b = probe(colour_video), probe(copy)
    assert a.video_id == b.video_id and len(a.video_id) == 16
    assert a.title == "colours" and b.title == "renamed"
    data = bytearray(copy.read_bytes())
    data[-100] ^= 0xFF  # a change in the last MiB must change the id
    copy.write_bytes(bytes(data))
    assert probe(copy).video_id != a.video_id


def test_colour_video(colour_video: Path) -> None:
    info = probe(colour_video)
    assert info.duration_s == pytest.approx(12.0, abs=0.05)
    assert info.has_audio and info.start_offset_s == 0.0
    assert (info.width_px, info.height_px) == (320, 240)


def test_cli_probe_json(colour_video: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["probe", str(colour_video), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert abs(data["frame_count"] - 300) <= 1 and data["codec"] == "h264"
    assert main(["probe", str(colour_video)]) == 0
    assert "video_id" in capsys.readouterr().out
