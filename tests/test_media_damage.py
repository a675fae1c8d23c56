"""Damaged and unusual files: a lost first GOP, two video streams, tiny frames, truncation.

Every input is generated with ffmpeg, so what is on screen when is known exactly: each frame that
comes out must show the colour of the segment at its own time.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from videoidx import CorruptVideoError, DamagedFramesError, probe, scan_video
from videoidx.cli import main
from videoidx.media.cut import cut_clip
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.probe import open_reader
from videoidx.media.synth import COLOURS_RGB, Segment, make_video
from videoidx.pipeline.media_worker import ClipReady, MediaEnded, scan_messages
from videoidx.settings import MediaSettings
from videoidx.types import ClipSpec, Frame

COLOURS = list(COLOURS_RGB)  # ten colours, far enough apart to tell by their mean
SEGMENT_S = 4.0
GOP_FRAMES = 120  # 4.8 s at 25 fps: the lost first GOP covers the first colour and a bit more
DENSE = MediaSettings(frame_max_gap_s=1.0, dedupe_threshold=0.0, frame_budget=64)


def colour_of(jpeg: bytes) -> str:
    """The palette colour nearest to the frame's mean."""
    img = Image.open(io.BytesIO(jpeg)).convert("RGB").resize((1, 1), Image.Resampling.BOX)
    r, g, b = img.getpixel((0, 0))  # type: ignore[misc]
    return min(
        COLOURS_RGB,
        key=lambda c: sum((x - y) ** 2 for x, y in zip(COLOURS_RGB[c], (r, g, b), strict=True)),
    )


def colour_at(t_s: float, colours: list[str], seg_s: float) -> str | None:
    """The colour on screen at ``t_s``; None within a frame of a change (either is fine)."""
    k = int(t_s // seg_s)
    if abs(t_s - round(t_s / seg_s) * seg_s) < 0.06 or k >= len(colours):
        return None
    return colours[k]


def assert_colours_line_up(
    frames: list[Frame], colours: list[str], seg_s: float, shift_s: float = 0.0
) -> None:
    assert frames
    for f in frames:
        want = colour_at(f.time_s + shift_s, colours, seg_s)
        if want is not None:
            assert colour_of(f.jpeg) == want, f"frame at {f.time_s:.2f} s"


# -- item: a lost first GOP ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lost_first_gop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("gop")
    whole = make_video(
        d / "whole.mp4",
        [Segment(c, SEGMENT_S) for c in COLOURS],
        gop_frames=GOP_FRAMES,
        audio=False,
    )
    damaged = d / "lost_first_gop.mp4"
    # Dropping packet 0 (the first keyframe) leaves the rest of the GOP undecodable.
    run_ffmpeg(
        ["-y", "-i", str(whole), "-c", "copy", "-bsf:v", r"noise=drop=eq(n\,0)", str(damaged)],
        what="dropping the first keyframe",
    )
    return whole, damaged


def test_lost_first_gop_is_read_at_its_own_times(lost_first_gop: tuple[Path, Path]) -> None:
    whole, path = lost_first_gop
    info = probe(path)
    # The first frame of the index is the lost keyframe's successor; times count from it.
    shift_s = probe(whole).duration_s - info.duration_s
    assert 0.0 <= shift_s < 0.05
    frames: list[Frame] = []
    with pytest.raises(DamagedFramesError) as err:
        for _, clip_frames in scan_video(info, DENSE):
            frames.extend(clip_frames)
    # The damage is named where it is, at the start, not "near 35 s".
    assert "at 0.0-4.8 s" in str(err.value) and str(path) in str(err.value)
    assert err.value.spans_s[0][0] == 0.0 and err.value.spans_s[0][1] == pytest.approx(4.76)
    assert_colours_line_up(frames, COLOURS, SEGMENT_S, shift_s)
    times = [f.time_s for f in frames]
    assert min(times) == pytest.approx(4.76)  # the first decodable frame, at its own time
    assert max(times) > 38.0  # the tail is read too
    assert {colour_of(f.jpeg) for f in frames} >= set(COLOURS[1:])


def test_lost_first_gop_is_reported_by_the_media_worker(
    lost_first_gop: tuple[Path, Path],
) -> None:
    messages = list(scan_messages(0, str(lost_first_gop[1]), DENSE))
    ended = messages[-1]
    assert isinstance(ended, MediaEnded)
    assert "could not be decoded" in ended.error and "0.0-4.8 s" in ended.error
    clips = [m for m in messages if isinstance(m, ClipReady)]
    assert all(m.frames for m in clips)  # no clip is sent to a model without frames
    frames = [f for m in clips for f in m.frames]
    assert_colours_line_up(frames, COLOURS, SEGMENT_S, shift_s=0.04)
    assert max(f.time_s for f in frames) > 38.0


# -- item: two video streams -----------------------------------------------------------------------

SHORT = [Segment("red", 5.0)]
LONG = [Segment("blue", 6.0), Segment("green", 6.0)]


@pytest.fixture(scope="module")
def stream_parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("streams")
    short = make_video(d / "short.mp4", SHORT, audio=False)
    long = make_video(d / "long.mp4", LONG, audio=False)
    return short, long


def _two_streams(first: Path, second: Path, out: Path, default: int | None = None) -> Path:
    args = ["-y", "-i", str(first), "-i", str(second), "-map", "0:v", "-map", "1:v", "-c", "copy"]
    if default is not None:
        args += [f"-disposition:v:{default}", "default", f"-disposition:v:{1 - default}", "0"]
    run_ffmpeg([*args, str(out)], what="muxing two video streams")
    return out


@pytest.mark.parametrize("order", ["short_first", "long_first"])
def test_two_video_streams_read_the_first(
    stream_parts: tuple[Path, Path], tmp_path: Path, order: str
) -> None:
    short, long = stream_parts
    first, second = (short, long) if order == "short_first" else (long, short)
    segs = SHORT if order == "short_first" else LONG
    path = _two_streams(first, second, tmp_path / f"{order}.mp4")
    info = probe(path)
    want_s = sum(s.duration_s for s in segs)
    assert (info.video_stream, info.video_streams) == (0, 2)
    assert info.duration_s == pytest.approx(want_s)
    frames: list[Frame] = []
    for _, clip_frames in scan_video(info, DENSE):  # no "damaged near 5 s"
        frames.extend(clip_frames)
    assert max(f.time_s for f in frames) > want_s - 1.1  # the whole chosen stream is indexed
    assert_colours_line_up(frames, [s.colour for s in segs], 6.0 if segs is LONG else 5.0)


def test_the_default_stream_wins_and_every_reader_uses_it(
    stream_parts: tuple[Path, Path], tmp_path: Path
) -> None:
    short, long = stream_parts
    path = _two_streams(short, long, tmp_path / "default_second.mp4", default=1)
    info = probe(path)
    assert (info.video_stream, info.video_streams) == (1, 2)
    assert info.duration_s == pytest.approx(12.0)
    frames = [f for _, fs in scan_video(info, DENSE) for f in fs]
    assert_colours_line_up(frames, ["blue", "green"], 6.0)
    # The clip cutter and the offline indexer's decoder read the same stream.
    cut = cut_clip(info, ClipSpec(info.video_id, 0, 7.0, 9.0), tmp_path / "c.mp4", mode="encode")
    cut_frames = [f for _, fs in scan_video(cut.path, DENSE) for f in fs]
    assert {colour_of(f.jpeg) for f in cut_frames} == {"green"}
    from indexers.local.decode import decode_frames

    decoded = decode_frames(info, ClipSpec(info.video_id, 0, 7.0, 9.0), fps=2, long_side_px=64)
    mean = decoded.rgb.reshape(-1, 3).mean(axis=0)
    assert mean[1] > 100 and mean[2] < 50  # green, not the red of stream 0


def test_probe_cli_names_the_stream(
    stream_parts: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _two_streams(*stream_parts, tmp_path / "two.mp4", default=1)
    assert main(["probe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "video_stream " in out and "video_streams " in out
    lines = {ln.split()[0]: ln.split()[-1] for ln in out.splitlines() if ln.strip()}
    assert lines["video_stream"] == "1" and lines["video_streams"] == "2"


# -- item: tiny frames -----------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "pix_fmt"), [(1, "yuv444p"), (2, "yuv420p"), (8, "yuv420p")])
def test_tiny_videos_are_read(tmp_path: Path, side: int, pix_fmt: str) -> None:
    path = tmp_path / f"tiny{side}.mp4"
    src = f"color=c=red:s={side}x{side}:r=25:d=1,format={pix_fmt}"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", src, "-c:v", "libx264", "-pix_fmt", pix_fmt, str(path)],
        what="making a tiny video",
    )
    info = probe(path)
    assert (info.width_px, info.height_px, info.frame_count) == (side, side, 25)
    frames = [f for _, fs in scan_video(info) for f in fs]
    assert frames and all(colour_of(f.jpeg) == "red" for f in frames)


# -- item: truncated files, decord's messages ------------------------------------------------------


@pytest.fixture(scope="module")
def faststart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("trunc")
    segs = [Segment(c, 2.0, pattern=True) for c in COLOURS[:5]]
    return make_video(d / "whole.mp4", segs, audio=False)


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5])
def test_truncated_files_are_called_truncated(
    faststart: Path, tmp_path: Path, fraction: float
) -> None:
    data = faststart.read_bytes()
    path = tmp_path / f"cut_{fraction}.mp4"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CorruptVideoError, match="truncated") as err:
        probe(path)
    msg = str(err.value)
    assert "no video stream" not in msg and str(path) in msg
    assert ".cc:" not in msg and "/github/" not in msg


def test_decord_messages_carry_no_source_paths(faststart: Path, tmp_path: Path) -> None:
    data = faststart.read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError) as err:
        open_reader(path)  # a real decord failure: av_read_frame on the missing half
    msg = str(err.value)
    assert err.value.__cause__ is not None and ".cc:" in str(err.value.__cause__)
    assert ".cc:" not in msg and "/github/" not in msg and "workspace" not in msg
    assert "av_read_frame failed" in msg and "invalid data" in msg
