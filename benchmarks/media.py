"""Media benchmark: videoidx's decode pass against plain ffmpeg and PySceneDetect, same process.

Parts (choose with ``--parts``, default all but ``rss``; ``--quick`` = the 10-minute file only):

* ``full``  probe + shots + frame sampling (one frame per ~2 s) vs
            ``ffmpeg -threads 2 -i F -f null -`` (target <= 1.1x)
* ``shots`` ``detect_shots`` vs PySceneDetect ``detect-content`` on the same file (target >= 1.7x
            faster), plus both detectors' cuts on the shared upstream truth (must be identical)
* ``keys``  keyframe mode (``sample_mode=keyframes``) vs ``ffmpeg -skip_frame nokey``
            (target <= 1.5x)
* ``rss``   peak RSS of a full scan in a child process (target <= 1 GB for the 1-hour 1080p
            file; ``--hour`` generates it once, cached in bench-data/; ``--file`` for any file).

Run: ``.venv/bin/python benchmarks/media.py --quick`` (needs the ``bench`` extra for PySceneDetect).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import media_data  # noqa: E402

from videoidx.media.decode import frame_index  # noqa: E402
from videoidx.media.ffmpeg_bin import ffmpeg_exe  # noqa: E402
from videoidx.media.probe import probe  # noqa: E402
from videoidx.media.scan import detect_shots, scan_video  # noqa: E402
from videoidx.settings import MediaSettings  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media"


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def ffmpeg_null(path: Path, *extra: str) -> float:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-threads", "2", *extra]
    cmd += ["-i", str(path), "-f", "null", "-"]
    return timed(lambda: subprocess.run(cmd, check=True))[0]


def run_scan(path: Path, settings: MediaSettings) -> tuple[list[float], int, int]:
    info = probe(path)
    scan = scan_video(info, settings)
    frames = sum(len(fs) for _, fs in scan)
    return [c.time_s for c in scan.cuts], len(scan.clips), frames


def part_full(path: Path) -> None:
    # The machine is shared: baseline before and after, and compare with their mean.
    before = ffmpeg_null(path)
    ours, (cuts, clips, frames) = timed(lambda: run_scan(path, MediaSettings()))
    after = ffmpeg_null(path)
    base = (before + after) / 2
    print(f"[full] baseline runs {before:.1f} s and {after:.1f} s", flush=True)
    print(
        f"[full] {path.name}: ffmpeg -threads 2 decode {base:.1f} s; probe+shots+sampling "
        f"{ours:.1f} s ({len(cuts)} cuts, {clips} clips, {frames} frames) -> {ours / base:.2f}x "
        "(target <= 1.1x)",
        flush=True,
    )
    truth = media_data.cut_times_s(probe(path).duration_s)
    fps = probe(path).fps_nominal
    hits = sum(any(abs(d - t) <= 1.01 / fps for d in cuts) for t in truth)
    print(
        f"[full] generated truth: {len(truth)} cuts, {hits} found within one frame, "
        f"{len(cuts) - hits} other cuts",
        flush=True,
    )


def pyscenedetect_cuts(path: Path) -> list[int]:
    from scenedetect import ContentDetector, detect

    scenes = detect(str(path), ContentDetector())
    return [start.get_frames() for start, _ in scenes[1:]]


def part_shots(path: Path) -> None:
    ours, cuts = timed(lambda: detect_shots(path))
    theirs, psd = timed(lambda: pyscenedetect_cuts(path))
    print(
        f"[shots] {path.name}: detect_shots {ours:.1f} s ({len(cuts)} cuts), PySceneDetect "
        f"detect-content {theirs:.1f} s ({len(psd)} cuts) -> {theirs / ours:.2f}x faster "
        "(target >= 1.7x)",
        flush=True,
    )
    agree = {c.frame for c in cuts} & set(psd)
    print(f"[shots] cuts in common on {path.name}: {len(agree)}", flush=True)
    truth = json.loads((MEDIA / "media.json").read_text())
    for name in ("skv_bikes.mp4", "psd_testvideo.mp4"):
        if not (MEDIA / name).is_file():
            continue
        entry = truth[name]
        expected = entry.get("hard_cuts", entry.get("shot_starts", [0])[1:])
        mine = [c.frame for c in detect_shots(MEDIA / name)]
        theirs_cuts = pyscenedetect_cuts(MEDIA / name)
        print(
            f"[shots] truth {name}: expected {expected}, videoidx {mine}, PySceneDetect "
            f"{theirs_cuts} -> identical: {mine == theirs_cuts == expected}",
            flush=True,
        )


def part_keys(path: Path) -> None:
    base = ffmpeg_null(path, "-skip_frame", "nokey")
    settings = MediaSettings(sample_mode="keyframes")
    ours, (_, clips, frames) = timed(lambda: run_scan(path, settings))
    n_keys = len(frame_index(probe(path)).keyframes)
    print(
        f"[keys] {path.name}: ffmpeg -skip_frame nokey {base:.1f} s; keyframe mode {ours:.1f} s "
        f"({n_keys} keyframes, {clips} clips, {frames} frames) -> {ours / base:.2f}x "
        "(target <= 1.5x)",
        flush=True,
    )


def part_rss(path: Path) -> None:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child-scan", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - started
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"[rss] {path.name}: full scan {took:.0f} s, peak RSS python {child['python_mb']:.0f} MB, "
        f"ffmpeg {child['ffmpeg_mb']:.0f} MB, sum {child['python_mb'] + child['ffmpeg_mb']:.0f} MB "
        f"({child['frames']} frames, {child['clips']} clips) (target <= 1024 MB)",
        flush=True,
    )


def child_scan(path: Path) -> None:
    cuts, clips, frames = run_scan(path, MediaSettings())
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = {"python_mb": self_mb, "ffmpeg_mb": kids_mb, "frames": frames, "clips": clips}
    print(json.dumps(out | {"cuts": len(cuts)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 10-minute 720p file")
    parser.add_argument("--hour", action="store_true", help="also the 1-hour 1080p file")
    parser.add_argument(
        "--parts", default="full,shots,keys", help="comma list: full,shots,keys,rss"
    )
    parser.add_argument("--file", type=Path, help="benchmark this file instead")
    parser.add_argument("--child-scan", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_scan:
        child_scan(args.child_scan)
        return
    parts = set(args.parts.split(","))
    files = [args.file] if args.file else [media_data.ten_minute_720p()]
    if args.hour and not args.quick and not args.file:
        files.append(media_data.one_hour_1080p())
    started = time.perf_counter()
    for path in files:
        if "full" in parts:
            part_full(path)
        if "shots" in parts:
            part_shots(path)
        if "keys" in parts:
            part_keys(path)
        if "rss" in parts and (args.file or "1h" in path.name):
            part_rss(path)
    print(f"benchmark wall time {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
