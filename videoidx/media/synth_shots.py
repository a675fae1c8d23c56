"""Generated shot-truth videos: textured, moving shots joined by cuts, fades and dissolves.

``media.synth`` makes flat colour segments (exact colours for the fake provider). Shot detection
needs harder pictures: camera footage has texture at every scale, sensor noise and a moving
camera, and editors join shots with fades and dissolves as well as cuts. Here a *shot* is a
Perlin-noise landscape (or a moving test pattern) in its own palette, seen through a panning
window with a little temporal noise; a *track* is shots joined by :class:`Join` s; a
:class:`ShotCase` lays one or two tracks out (full frame, split screen, picture-in-picture) and
adds effects on top (fades from and to black or white, flashes, strobes). Every case knows its
true hard cuts, so tests and the media benchmark score a detector against them.

Only hard cuts count: a fade, a dissolve, a flash or a pan changes the picture over several
frames or comes back, and a film editor would not call it a cut. A cut in one region of a split
screen or a picture-in-picture is a cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from videoidx.media.ffmpeg_bin import run_ffmpeg

GRAIN = -100
"""``Shot.look`` of a fine black-and-white grain (a cellular automaton), mean grey."""
FLAT = -101
"""``Shot.look`` of a flat mid-grey picture: the grain's average colour without its texture."""

# pseudocolor palettes (ffmpeg presets) and texture scales, cycled by a shot's ``look``.
_PALETTES = ("turbo", "magma", "viridis", "cool", "heat", "plasma", "cividis", "fiery")
_SCALES = (5.0, 9.0, 3.5, 7.0, 12.0)


@dataclass(frozen=True)
class Shot:
    """``duration_s`` of one camera shot: texture ``look`` seen by a camera panning at ``pan``.

    ``look`` picks the texture (Perlin noise with its own seed, scale and palette; a negative
    look is ffmpeg's moving ``testsrc2`` pattern, hue-shifted). ``pan_px_s`` is the camera's
    speed in pixels per second of the output, ``brightness`` scales the picture (0.25 is a
    night shot).
    """

    look: int
    duration_s: float
    pan_px_s: tuple[float, float] = (24.0, 6.0)
    brightness: float = 1.0


@dataclass(frozen=True)
class Join:
    """How a shot follows the previous one: ``cut``, or over ``duration_s`` a ``dissolve``,
    a ``fadeblack`` or a ``fadewhite`` (out to the colour and in from it)."""

    kind: str = "cut"
    duration_s: float = 0.0


CUT = Join()


@dataclass(frozen=True)
class ShotCase:
    """One generated video and its truth.

    ``track`` alternates shots and joins (``Shot, Join, Shot, ...``). ``layout``: ``full``;
    ``split`` (the track on the right half, a still graphic on the left); ``pip`` (the track
    full frame, a continuous ``inset`` shot in a corner); ``pip_inset`` (a continuous ``inset``
    shot full frame, the track in a corner box covering ``inset_share`` of the width and
    height). ``effects`` is an ffmpeg filter chain applied to the whole picture afterwards (use
    it for fades, flashes and strobes; ``{fps}`` is replaced by the frame rate).
    """

    name: str
    track: tuple[Shot | Join, ...]
    layout: str = "full"
    inset: Shot | None = None
    inset_share: float = 0.5
    effects: str = ""
    codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    width_px: int = 320
    height_px: int = 180
    fps: int = 25
    note: str = field(default="", compare=False)

    @property
    def duration_s(self) -> float:
        return track_duration_s(self.track)

    @property
    def suffix(self) -> str:
        return ".webm" if self.codec.startswith("libvpx") else ".mp4"

    def cut_frames(self) -> list[int]:
        """The true hard cuts: first frame of each shot that follows a ``cut`` join."""
        return [round(t * self.fps) for t in track_cuts_s(self.track)]


def track_duration_s(track: Sequence[Shot | Join]) -> float:
    total = 0.0
    for item in track:
        total += item.duration_s if isinstance(item, Shot) else -item.duration_s
    return total


def track_cuts_s(track: Sequence[Shot | Join]) -> list[float]:
    """Start time of every shot joined by a hard cut (dissolves and fades overlap the shots)."""
    cuts, t = [], 0.0
    for k, item in enumerate(track):
        if isinstance(item, Join):
            t -= item.duration_s
            if item.kind == "cut":
                cuts.append(round(t, 6))
        else:
            t += item.duration_s
        if k == 0 and not isinstance(item, Shot):
            raise ValueError("a track starts with a Shot")
    return cuts


def _shot_source(shot: Shot, w: int, h: int, fps: int, seed_base: int) -> str:
    """A lavfi chain that renders ``shot`` at ``w`` x ``h`` (yuv444p, so palettes keep colour)."""
    d = shot.duration_s
    px, py = shot.pan_px_s
    # The texture is rendered larger than the window so the camera can pan without leaving it.
    big_w = w + int(abs(px) * d) + 8
    big_h = h + int(abs(py) * d) + 8
    x = f"{'t*' + str(abs(px)) if px >= 0 else str(big_w - w) + '-t*' + str(abs(px))}"
    y = f"{'t*' + str(abs(py)) if py >= 0 else str(big_h - h) + '-t*' + str(abs(py))}"
    crop = f"crop={w}:{h}:x='{x}':y='{y}'"
    if shot.look == GRAIN:
        src = f"cellauto=s={big_w}x{big_h}:r={fps}:rule=30:scroll=1,trim=duration={d},{crop}"
        src += ",format=yuv444p"
    elif shot.look == FLAT:
        src = f"color=c=0x7f7f7f:s={w}x{h}:r={fps}:d={d},format=yuv444p"
    elif shot.look < 0:
        src = (
            f"testsrc2=s={big_w}x{big_h}:r={fps}:d={d},{crop},"
            f"hue=h={(-shot.look * 67) % 360},format=yuv444p"
        )
    else:
        look = shot.look
        scale = _SCALES[look % len(_SCALES)] * max(big_w, big_h) / 320
        palette = _PALETTES[look % len(_PALETTES)]
        src = (
            # One still landscape (rendering Perlin noise per frame is slow), looped.
            f"perlin=s={big_w}x{big_h}:r={fps}:octaves=5:persistence=0.55:"
            f"xscale={scale:.2f}:yscale={scale:.2f}:random_mode=seed:"
            f"seed={seed_base + look * 7919},trim=end_frame=1,"
            f"eq=contrast=1.6,format=yuv444p,pseudocolor=p={palette},"
            f"loop=loop={round(d * fps)}:size=1,setpts=N/{fps}/TB,trim=duration={d},{crop}"
        )
    # Sensor noise: a little, changing every frame, so no two frames are identical.
    src += ",noise=alls=4:allf=t"
    if shot.brightness != 1.0:
        src += (
            f",colorlevels=romax={shot.brightness}:gomax={shot.brightness}:bomax={shot.brightness}"
        )
    # One time base for every shot, which xfade and concat require.
    return src + f",format=yuv444p,setsar=1,fps={fps},settb=AVTB"


def _track_graph(
    track: Sequence[Shot | Join], w: int, h: int, fps: int, label: str, seed_base: int
) -> list[str]:
    """Filter-graph statements that render ``track`` into ``[label]``."""
    stmts: list[str] = []
    shots = [item for item in track if isinstance(item, Shot)]
    joins = [item for item in track if isinstance(item, Join)]
    if len(joins) != len(shots) - 1:
        raise ValueError("a track alternates Shot, Join, Shot, ...")
    for k, shot in enumerate(shots):
        stmts.append(f"{_shot_source(shot, w, h, fps, seed_base)}[{label}s{k}]")
    acc, acc_len = f"{label}s0", shots[0].duration_s
    for k, join in enumerate(joins, start=1):
        out = f"{label}j{k}"
        if join.kind == "cut":
            stmts.append(f"[{acc}][{label}s{k}]concat=n=2:v=1:a=0[{out}]")
            acc_len += shots[k].duration_s
        else:
            kind = {"dissolve": "fade"}.get(join.kind, join.kind)
            offset = acc_len - join.duration_s
            stmts.append(
                f"[{acc}][{label}s{k}]xfade=transition={kind}:duration={join.duration_s}:"
                f"offset={offset:.6f}[{out}]"
            )
            acc_len += shots[k].duration_s - join.duration_s
        acc = out
    stmts.append(f"[{acc}]null[{label}]")
    return stmts


def make_shot_case(case: ShotCase, folder: str | Path, *, ffmpeg_path: str | None = None) -> Path:
    """Encode ``case`` into ``folder`` (named after the case) and return the file's path."""
    for item in case.track:
        frames = item.duration_s * case.fps
        if abs(frames - round(frames)) > 1e-6:
            raise ValueError(f"{case.name}: {item} does not last a whole number of frames")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case.name}{case.suffix}"
    w, h, fps = case.width_px, case.height_px, case.fps
    stmts: list[str] = []
    if case.layout == "full":
        stmts += _track_graph(case.track, w, h, fps, "main", 11)
        last = "main"
    elif case.layout == "split":
        half = w // 2
        stmts += _track_graph(case.track, half, h, fps, "right", 11)
        # The left half: a still graphic (colour bars with a caption box), as on a news split.
        stmts.append(
            f"smptebars=s={half}x{h}:r={fps}:d={case.duration_s},"
            f"drawbox=x=10:y={h // 3}:w={half - 20}:h={h // 3}:c=navy:t=fill,"
            f"format=yuv444p,setsar=1[left]"
        )
        stmts.append("[left][right]hstack=inputs=2[main]")
        last = "main"
    elif case.layout in ("pip", "pip_inset"):
        if case.inset is None:
            raise ValueError(f"layout {case.layout} needs an inset shot")
        iw = int(w * case.inset_share) // 2 * 2
        ih = int(h * case.inset_share) // 2 * 2
        inset = Shot(case.inset.look, case.duration_s, case.inset.pan_px_s, case.inset.brightness)
        if case.layout == "pip":
            stmts += _track_graph(case.track, w, h, fps, "bg", 11)
            stmts += _track_graph([inset], iw, ih, fps, "box", 97)
        else:
            stmts += _track_graph([inset], w, h, fps, "bg", 97)
            stmts += _track_graph(case.track, iw, ih, fps, "box", 11)
        stmts.append(f"[box]pad={iw + 4}:{ih + 4}:2:2:white[boxed]")
        stmts.append(f"[bg][boxed]overlay=x={w - iw - 12}:y=8:shortest=1[main]")
        last = "main"
    else:
        raise ValueError(f"unknown layout {case.layout!r}")
    tail = case.effects.replace("{fps}", str(fps))
    tail = (tail + ",") if tail else ""
    stmts.append(f"[{last}]{tail}format={case.pix_fmt}[vout]")
    args = ["-y", "-filter_complex", ";".join(stmts), "-map", "[vout]", "-an"]
    args += ["-t", f"{case.duration_s:.6f}"]
    if case.codec == "libx264":
        args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", case.pix_fmt]
    elif case.codec.startswith("libvpx"):
        args += ["-c:v", case.codec, "-b:v", "1M", "-deadline", "realtime", "-cpu-used", "8"]
        args += ["-pix_fmt", case.pix_fmt]
    else:
        args += ["-c:v", case.codec, "-pix_fmt", case.pix_fmt]
    # A keyframe every 2 s and none at cuts: the decoder gives no hint where the cuts are.
    args += ["-g", str(2 * fps)]
    if case.codec == "libx264":
        args += ["-keyint_min", str(2 * fps), "-sc_threshold", "0"]
    args.append(str(path))
    run_ffmpeg(args, what=f"generating shot case {case.name}", ffmpeg_path=ffmpeg_path)
    return path


def _shots(looks: Sequence[int], lengths_s: Sequence[float], **kw: object) -> list[Shot]:
    return [Shot(look, d, **kw) for look, d in zip(looks, lengths_s, strict=True)]  # type: ignore[arg-type]


def _cut_track(
    shots: Sequence[Shot], joins: Sequence[Join] | None = None
) -> tuple[Shot | Join, ...]:
    out: list[Shot | Join] = [shots[0]]
    for k, shot in enumerate(shots[1:]):
        out += [joins[k] if joins else CUT, shot]
    return tuple(out)


def shot_cases() -> list[ShotCase]:
    """The generated shot-truth cases (see each case's ``note``)."""
    cases: list[ShotCase] = []
    add = cases.append
    add(
        ShotCase(
            "hard_cuts",
            _cut_track(_shots([0, 1, -1, 2, 3, -2, 4], [2.0, 1.6, 2.4, 1.2, 2.0, 1.8, 2.0])),
            note="textured shots joined by hard cuts, some of them short",
        )
    )
    add(
        ShotCase(
            "same_scene_cuts",
            # One texture seen from other places: same palette and statistics on both sides.
            _cut_track(
                [
                    Shot(5, 2.0, (30.0, 0.0)),
                    Shot(13, 2.0, (-30.0, 10.0)),
                    Shot(21, 2.0, (0.0, -20.0)),
                    Shot(29, 2.0, (20.0, 20.0)),
                ]
            ),
            note="cuts between shots of one palette (an angle change in the same scene)",
        )
    )
    add(
        ShotCase(
            "texture_cuts",
            _cut_track([Shot(GRAIN, 2.0), Shot(FLAT, 2.0), Shot(GRAIN, 2.0, (-20.0, 0.0))]),
            note="fine grain to a flat picture of its average colour and back (grass to sky)",
        )
    )
    add(
        ShotCase(
            "dark_cuts",
            _cut_track(_shots([1, 2, 3, 6], [2.0, 2.0, 2.0, 2.0], brightness=0.3)),
            note="night shots: cuts between dark pictures",
        )
    )
    add(
        ShotCase(
            "fade_black",
            _cut_track(_shots([0, 3], [4.0, 4.0])),
            effects="fade=t=in:st=0:d=1.2:color=black,fade=t=out:st=6.8:d=1.2:color=black",
            note="fade-in from black, a cut, fade-out to black (the Big Buck Bunny opening)",
        )
    )
    add(
        ShotCase(
            "fade_white",
            _cut_track(_shots([2, 4], [4.0, 4.0])),
            effects="fade=t=in:st=0:d=0.8:color=white,fade=t=out:st=7.0:d=1.0:color=white",
            note="fade-in from white, a cut, fade-out to white",
        )
    )
    add(
        ShotCase(
            "fade_through",
            _cut_track(
                _shots([0, 1, 2, 6], [3.0, 3.0, 3.0, 3.0]),
                [Join("fadeblack", 1.0), Join("fadewhite", 0.8), Join("fadeblack", 0.4)],
            ),
            note="shots joined through black and white (fade out, fade in): no hard cut",
        )
    )
    add(
        ShotCase(
            "dissolves",
            _cut_track(
                _shots([0, 1, -1, 3, 4], [3.0, 3.0, 3.0, 3.0, 3.0]),
                [Join("dissolve", 1.0), CUT, Join("dissolve", 0.4), Join("dissolve", 0.2)],
            ),
            note="dissolves of 1 s, 0.4 s and 0.2 s, and one hard cut",
        )
    )
    add(
        ShotCase(
            "flashes",
            _cut_track(_shots([0, 2], [4.0, 4.0])),
            effects=(
                "drawbox=c=white@0.9:t=fill:enable='eq(n,25)',"
                "drawbox=c=white@0.9:t=fill:enable='between(n,55,56)',"
                "eq=brightness=0.5:enable='between(n,140,142)',"
                "drawbox=c=black@0.95:t=fill:enable='eq(n,170)'"
            ),
            note="camera flashes of 1, 2 and 3 frames, a one-frame dropout to black, one cut",
        )
    )
    add(
        ShotCase(
            "strobe",
            _cut_track(_shots([3, 1], [4.0, 3.0])),
            effects=(
                "eq=brightness=0.45:enable='between(t,1,2.5)*not(mod(n,2))',"
                "drawbox=c=white@0.85:t=fill:enable='between(t,4.6,5.6)*not(mod(n,3))'"
            ),
            note="strobe lights (every other frame, every third frame) and one cut",
        )
    )
    add(
        ShotCase(
            "fast_pans",
            _cut_track(
                [
                    Shot(0, 3.0, (260.0, 40.0)),
                    Shot(-3, 3.0, (-320.0, 0.0)),
                    Shot(4, 3.0, (0.0, 200.0)),
                ]
            ),
            note="whip pans (up to a frame width per second): cuts only between the pans",
        )
    )
    add(
        ShotCase(
            "split_screen",
            # Shots of one palette: the cutting half changes texture, not colour.
            _cut_track(_shots([5, 13, 21, 29], [2.0, 2.4, 2.0, 2.0])),
            layout="split",
            note="split screen: the right half cuts (within one palette), the left is a still",
        )
    )
    add(
        ShotCase(
            "pip_main_cuts",
            _cut_track(_shots([0, 2, 4], [2.4, 2.6, 2.4])),
            layout="pip",
            inset=Shot(-5, 1.0, (10.0, 0.0)),
            inset_share=0.4,
            note="picture-in-picture: the main picture cuts under a continuous inset",
        )
    )
    add(
        ShotCase(
            "pip_inset_cuts",
            _cut_track(_shots([1, -2, 6], [2.4, 2.6, 2.4])),
            layout="pip_inset",
            inset=Shot(3, 1.0, (150.0, 40.0)),
            inset_share=0.4,
            note="picture-in-picture: an inset of a sixth of the frame cuts over a panning picture",
        )
    )
    add(
        ShotCase(
            "chroma_444",
            _cut_track(_shots([0, 5, 2], [2.0, 2.0, 2.0])),
            pix_fmt="yuv444p",
            note="H.264 High 4:4:4 (full-resolution chroma)",
        )
    )
    add(
        ShotCase(
            "webm_vp8",
            _cut_track(_shots([1, 3, -1], [2.0, 2.0, 2.0])),
            codec="libvpx",
            note="VP8 in WebM",
        )
    )
    add(
        ShotCase(
            "webm_vp9",
            _cut_track(_shots([2, 4, 6], [2.0, 2.0, 2.0]), [Join("dissolve", 0.48), CUT]),
            effects="fade=t=in:st=0:d=0.6:color=black",
            codec="libvpx-vp9",
            note="VP9 in WebM, with a fade-in and a dissolve",
        )
    )
    return cases


__all__ = [
    "CUT",
    "FLAT",
    "GRAIN",
    "Join",
    "Shot",
    "ShotCase",
    "make_shot_case",
    "shot_cases",
    "track_cuts_s",
]
