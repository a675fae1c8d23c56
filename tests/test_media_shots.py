"""Hard-cut detection: upstream truth within one frame, no cuts on fades/one-shot clips,
and no cut for a flash or a pan (synthetic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from videoidx import detect_shots
from videoidx.cli import main
from videoidx.media.ffmpeg_bin import run_ffmpeg

CUT_FILES = ["skv_bikes.mp4", "psd_testvideo.mp4"]
NO_CUT_FILES = [
    "psd_fades.mp4",
    "mpy_chaplin.mp4",
    "dec_flipping_a_pancake.mkv",
    "skv_bigbuckbunny.mp4",
    "skv_carphone_pristine.mp4",
    "mpy_smpte-2997.mp4",
]


def truth_cuts(entry: dict[str, Any]) -> list[int]:
    return list(entry.get("hard_cuts", entry.get("shot_starts", [0])[1:]))


@pytest.mark.parametrize("name", CUT_FILES)
def test_finds_upstream_cuts_within_one_frame(
    media_dir: Path, media_truth: dict[str, Any], name: str
) -> None:
    expected = truth_cuts(media_truth[name])
    found = detect_shots(media_dir / name)
    assert len(found) == len(expected), (found, expected)
    for cut, frame in zip(found, expected, strict=True):
        assert abs(cut.frame - frame) <= 1
    times = media_truth[name].get("cut_times_s") or media_truth[name].get("hard_cut_times_s")
    for cut, t in zip(found, times, strict=True):
        assert cut.time_s == pytest.approx(t, abs=0.045)


@pytest.mark.parametrize("name", NO_CUT_FILES)
def test_no_cut_on_fades_and_single_shots(
    media_dir: Path, media_truth: dict[str, Any], name: str
) -> None:
    assert media_truth[name]["hard_cuts"] == []
    assert detect_shots(media_dir / name) == []


def test_synthetic_colour_cuts(colour_video: Path) -> None:
    cuts = detect_shots(colour_video)
    assert [round(c.time_s * 25) for c in cuts] == pytest.approx([75, 137.5, 225], abs=1)


def _ffmpeg_video(path: Path, vf: str, src: str = "testsrc2=s=320x240:r=25:d=6") -> Path:
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            src,
            "-vf",
            vf + ",format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            str(path),
        ],
        what="making a test video",
    )
    return path


@pytest.mark.parametrize("frames", [1, 2, 3])
def test_flash_is_not_a_cut(tmp_path: Path, frames: int) -> None:
    end = 3.0 + frames / 25 - 0.001
    path = _ffmpeg_video(
        tmp_path / "flash.mp4", f"drawbox=c=white:t=fill:enable='between(t,3.0,{end})'"
    )
    assert detect_shots(path) == []


def test_pan_is_not_a_cut(tmp_path: Path) -> None:
    # A 320x240 window panning fast across a 1280x720 moving test pattern.
    path = _ffmpeg_video(
        tmp_path / "pan.mp4",
        "crop=320:240:x='min(t*200,959)':y='t*60'",
        "testsrc2=s=1280x720:r=25:d=6",
    )
    assert detect_shots(path) == []


def test_a_real_cut_next_to_a_flash_is_kept(tmp_path: Path) -> None:
    # Flash at 2 s, then a hard change of content at 4 s: only the change is a cut.
    path = _ffmpeg_video(
        tmp_path / "mixed.mp4",
        "drawbox=c=white:t=fill:enable='between(t,2.0,2.07)',"
        "hue=h='if(gte(t,4),180,0)':s='if(gte(t,4),0.3,1)'",
    )
    cuts = detect_shots(path)
    assert [c.frame for c in cuts] == [100]


def test_cli_shots_json(media_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shots", str(media_dir / "skv_bikes.mp4"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cut_frames"] == [30, 76, 137, 187, 242]
    assert data["cut_times_s"] == pytest.approx([1.2, 3.04, 5.48, 7.48, 9.68], abs=1e-3)
    assert main(["shots", str(media_dir / "psd_fades.mp4")]) == 0
    assert "no hard cuts" in capsys.readouterr().out
