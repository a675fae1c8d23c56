"""Bad input: one exception root, a subclass per kind, messages naming the file; CLI exit 2."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from videoidx import (
    CorruptVideoError,
    EmptyVideoError,
    MediaError,
    NotAVideoError,
    VideoIdxError,
    VideoNotFoundError,
    detect_shots,
    probe,
    scan_video,
)
from videoidx.cli import main
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.synth import Segment, make_video


def _truncated(src: Path, dst: Path, fraction: float = 0.3) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("these are meeting notes, not a video\n" * 20)
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "sine=f=440:d=2", "-c:a", "aac", str(d / "tone.mp4")],
        what="making an audio-only file",
    )
    faststart = make_video(d / "fs.mp4", [Segment("red", 4, pattern=True)], audio=False)
    return {
        "missing": d / "does-not-exist.mp4",
        "empty": d / "empty.mp4",
        "text": d / "notes.mp4",
        "audio": d / "tone.mp4",
        "truncated_faststart": _truncated(faststart, d / "fs_trunc.mp4"),
    }


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("missing", VideoNotFoundError),
        ("empty", EmptyVideoError),
        ("text", NotAVideoError),
        ("audio", NotAVideoError),
        ("truncated_faststart", CorruptVideoError),
    ],
)
def test_probe_raises_the_right_error(
    bad_files: dict[str, Path], kind: str, error: type[MediaError]
) -> None:
    path = bad_files[kind]
    with pytest.raises(error) as info:
        probe(path)
    assert isinstance(info.value, VideoIdxError)
    assert str(path) in str(info.value)
    with pytest.raises(error):
        detect_shots(path)


def test_truncated_mp4_without_index(media_dir: Path, tmp_path: Path) -> None:
    path = _truncated(media_dir / "psd_testvideo.mp4", tmp_path / "cut_short.mp4")
    with pytest.raises(CorruptVideoError, match="truncated"):
        probe(path)


def test_garbage_in_the_middle_fails_while_decoding(media_dir: Path, tmp_path: Path) -> None:
    data = bytearray((media_dir / "psd_testvideo.mp4").read_bytes())
    rng = random.Random(1)
    n = len(data)
    data[n // 3 : n // 3 + n // 5] = bytes(rng.getrandbits(8) for _ in range(n // 5))
    path = tmp_path / "garbled.mp4"
    path.write_bytes(bytes(data))
    probe(path)  # the header and index are intact
    with pytest.raises(CorruptVideoError, match="damaged") as info:
        for _ in scan_video(path):
            pass
    assert str(path) in str(info.value)


@pytest.mark.parametrize("command", ["probe", "shots"])
def test_cli_reports_errors_without_traceback(
    bad_files: dict[str, Path], command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind in ("missing", "text", "audio"):
        assert main([command, str(bad_files[kind])]) == 2
        err = capsys.readouterr().err
        assert err.startswith("videoidx: error: ") and str(bad_files[kind]) in err
        assert "Traceback" not in err
