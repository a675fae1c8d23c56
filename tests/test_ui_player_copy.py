"""The player's file: the original, a remux or a re-encode, decided per file and made in the
background (issue 17, item 2).

Every case is a real file made with ffmpeg from one generated video: late starts just under and
just over one frame (at two frame rates, so the limit is a frame and not a fixed number), and
the container / codec combinations a library meets.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ui.player import PlayerFiles, copy_kind, one_frame_s
from videoidx import probe
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.synth import Segment, make_video

SEGMENTS = (Segment("red", 1.0), Segment("blue", 1.0, pattern=True))

# name -> (how it is made from the 25 fps or the 10 fps base video, the expected decision)
CASES: dict[str, tuple[str, list[str], str]] = {
    "plain.mp4": ("base25", ["-c", "copy"], "original"),
    "late_3ms.mp4": ("base25", ["-c", "copy"], "original"),
    "late_30ms.mp4": ("base25", ["-c", "copy"], "original"),  # under one 40 ms frame
    "late_60ms.mp4": ("base25", ["-c", "copy"], "encode"),  # over one 40 ms frame
    "late_60ms_10fps.mp4": ("base10", ["-c", "copy"], "original"),  # under one 100 ms frame
    "late_500ms.mp4": ("base25", ["-c", "copy"], "encode"),
    "h264.mkv": ("base25", ["-c", "copy"], "remux"),
    "h264.mov": ("base25", ["-c", "copy"], "remux"),
    "late_3ms.mkv": ("base25", ["-c", "copy"], "remux"),
    "late_500ms.mkv": ("base25", ["-c", "copy"], "encode"),
    "mpeg4.mp4": ("base25", ["-c:v", "mpeg4", "-c:a", "copy"], "encode"),
    "hevc.mkv": ("base25", ["-c:v", "libx265", "-preset", "ultrafast", "-c:a", "copy"], "encode"),
    "vp9.webm": ("base25", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus"],
                 "original"),
    "vp9.mkv": ("base25", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus"],
                "remux"),
}  # fmt: skip


def _late_s(name: str) -> float:
    for part in Path(name).stem.split("_"):
        if part.endswith("ms"):
            return float(part[:-2]) / 1000
    return 0.0


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("player")
    bases = {
        "base25": make_video(folder / "base25.mp4", SEGMENTS, fps=25),
        "base10": make_video(folder / "base10.mp4", SEGMENTS, fps=10),
    }
    out = {}
    for name, (base, codec_args, _) in CASES.items():
        late = ["-itsoffset", f"{_late_s(name):.3f}"] if _late_s(name) else []
        run_ffmpeg(
            ["-y", "-loglevel", "error", *late, "-i", str(bases[base]), *codec_args,
             str(folder / name)],
            what=f"making {name}",
        )  # fmt: skip
        out[name] = folder / name
    return out


def video_packets_md5(path: Path) -> str:
    """A hash of the video stream's packets as stored (equal only for a stream copy)."""
    proc = run_ffmpeg(
        ["-loglevel", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"],
        what="hashing",
    )
    return proc.stdout.decode().strip()


@pytest.mark.parametrize("name", list(CASES))
def test_the_cheapest_copy_that_plays_on_time(files: dict[str, Path], name: str) -> None:
    info = probe(files[name])
    late_s = _late_s(name)
    assert info.start_offset_s == pytest.approx(late_s, abs=0.002), "the case was not made"
    assert copy_kind(info) == CASES[name][2], (info.codec, info.start_offset_s, one_frame_s(info))


def test_a_remux_copies_the_video_stream_and_starts_on_time(
    files: dict[str, Path], tmp_path: Path
) -> None:
    for name in ("h264.mkv", "late_3ms.mkv", "vp9.mkv"):
        info = probe(files[name])
        player = PlayerFiles(tmp_path / "copies")
        player.prepare(info)
        assert player.wait(info, 60) == "ready"
        copy = player.path_for(info)
        assert copy is not None and copy.suffix == ".mp4"
        made = probe(copy)
        assert made.codec == info.codec and abs(made.start_offset_s) < one_frame_s(made)
        assert made.frame_count == info.frame_count and made.has_audio
        assert video_packets_md5(copy) == video_packets_md5(files[name]), "re-encoded, not copied"


def test_an_encode_starts_the_copy_at_its_first_frame(
    files: dict[str, Path], tmp_path: Path
) -> None:
    info = probe(files["late_500ms.mkv"])
    player = PlayerFiles(tmp_path / "copies")
    player.prepare(info)
    assert player.wait(info, 60) == "ready"
    copy = player.path_for(info)
    assert copy is not None
    made = probe(copy)
    assert made.codec == "h264" and made.start_offset_s < one_frame_s(made)
    assert made.duration_s == pytest.approx(info.duration_s, abs=0.1)
    assert video_packets_md5(copy) != video_packets_md5(files["late_500ms.mkv"])


def test_a_slow_copy_never_makes_a_caller_wait(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = probe(files["h264.mov"])
    player = PlayerFiles(tmp_path / "copies")
    release = threading.Event()
    real_make = player._make_copy

    def slow_make(*args: Any) -> None:
        assert release.wait(30)
        real_make(*args)

    monkeypatch.setattr(player, "_make_copy", slow_make)
    assert player.state(info) == "needed"
    started = time.monotonic()
    assert player.path_for(info) is None  # starts the copy, does not wait for it
    assert player.path_for(info) is None
    assert time.monotonic() - started < 0.5
    assert player.state(info) == "preparing"
    release.set()
    assert player.wait(info, 60) == "ready"
    assert player.path_for(info) == player.copy_path(info).resolve()


def test_a_copy_that_cannot_be_made_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mkv"
    bad.write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 4096)  # an MKV header and nothing playable
    info = probe(make_video(tmp_path / "ok.mp4", SEGMENTS))
    fake = dataclasses.replace(info, path=str(bad), codec="hevc")
    player = PlayerFiles(tmp_path / "copies")
    assert player.path_for(fake) is None
    assert player.wait(fake, 60) == "failed"
    assert player.path_for(fake) is None and not player.copy_path(fake).exists()
