"""Media benchmark: videoidx's decode pass against plain ffmpeg and PySceneDetect, same process.

Parts (choose with ``--parts``, default all but ``rss``; ``--quick`` = the 10-minute file only):

* ``full``   probe + shots + frame sampling (one frame per ~2 s) vs
             ``ffmpeg -threads 2 -i F -f null -`` (target <= 1.1x), in wall time and in CPU
             time (ffmpeg's and Python's together: on a shared machine the wall-time ratio
             mostly measures the other users); and the cuts against the file's generated truth
             (F1 within one frame, target >= 0.95)
* ``shots``  ``detect_shots`` vs PySceneDetect ``detect-content`` on the same file (target >= 1.7x
             faster), plus both detectors' cuts on the shared upstream truth
* ``cases``  the generated shot-truth cases of ``media.synth_shots`` (fades, dissolves, flashes,
             pans, split screen, inset, 4:4:4, VP8/VP9): F1 within one frame (target >= 0.95)
* ``keys``   keyframe mode (``sample_mode=keyframes``) vs ``ffmpeg -skip_frame nokey``
             (target <= 1.5x)
* ``ingest`` events per second written into the store (``benchmarks/search.py``'s library,
             ``--ingest-events`` of them; target >= 50,000/s)
* ``rss``    peak RSS of a full scan in a child process (target <= 1 GB for the 1-hour 1080p
             file; ``--hour`` generates it once, cached in bench-data/; ``--file`` for any file).

``--repeat N`` runs the timed parts N times and prints each ratio's spread. Run:
``.venv/bin/python benchmarks/media.py --quick`` (needs the ``bench`` extra for PySceneDetect).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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


def cpu_s() -> float:
    """CPU seconds used so far by this process and its waited-for children (ffmpeg)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def timed_cpu(fn):  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds, result) of ``fn()``."""
    cpu0, started = cpu_s(), time.perf_counter()
    result = fn()
    return time.perf_counter() - started, cpu_s() - cpu0, result


def ffmpeg_null(path: Path, *extra: str) -> tuple[float, float]:
    """(wall, CPU) seconds of a plain ``ffmpeg -threads 2`` decode to the null muxer."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-threads", "2", *extra]
    cmd += ["-i", str(path), "-f", "null", "-"]
    wall, cpu, _ = timed_cpu(lambda: subprocess.run(cmd, check=True))
    return wall, cpu


def spread(name: str, ratios: list[float]) -> None:
    if len(ratios) > 1:
        print(
            f"{name} over {len(ratios)} runs: min {min(ratios):.2f}, median "
            f"{statistics.median(ratios):.2f}, max {max(ratios):.2f}",
            flush=True,
        )


def f1_within_one_frame(truth: list[int], found: list[int]) -> tuple[int, int, int, float]:
    """(hits, misses, false cuts, F1) of ``found`` cut frames against ``truth``, +-1 frame."""
    hits = sum(any(abs(f - t) <= 1 for f in found) for t in truth)
    false = sum(not any(abs(f - t) <= 1 for t in truth) for f in found)
    missed = len(truth) - hits
    f1 = 2 * hits / max(1, 2 * hits + missed + false)
    return hits, missed, false, f1 if (truth or found) else 1.0


def run_scan(path: Path, settings: MediaSettings) -> tuple[list[int], int, int]:
    info = probe(path)
    scan = scan_video(info, settings)
    frames = sum(len(fs) for _, fs in scan)
    return [c.frame for c in scan.cuts], len(scan.clips), frames


def part_full(path: Path, repeat: int) -> None:
    walls, cpus = [], []
    for _ in range(repeat):
        # The machine is shared: baseline before and after, and compare with their mean.
        before = ffmpeg_null(path)
        ours, ours_cpu, (cuts, clips, frames) = timed_cpu(lambda: run_scan(path, MediaSettings()))
        after = ffmpeg_null(path)
        base, base_cpu = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
        walls.append(ours / base)
        cpus.append(ours_cpu / base_cpu)
        print(
            f"[full] {path.name}: ffmpeg -threads 2 decode {base:.1f} s wall "
            f"({before[0]:.1f}, {after[0]:.1f}), {base_cpu:.1f} s CPU; probe+shots+sampling "
            f"{ours:.1f} s wall, {ours_cpu:.1f} s CPU ({len(cuts)} cuts, {clips} clips, "
            f"{frames} frames) -> {ours / base:.2f}x wall, {ours_cpu / base_cpu:.2f}x CPU "
            "(target <= 1.1x)",
            flush=True,
        )
    spread("[full] wall ratio", walls)
    spread("[full] CPU ratio", cpus)
    info = probe(path)
    truth = [round(t * info.fps_nominal) for t in media_data.cut_times_s(info.duration_s)]
    hits, missed, false, f1 = f1_within_one_frame(truth, cuts)
    print(
        f"[full] generated truth: {len(truth)} cuts, {hits} found within one frame, {missed} "
        f"missed, {false} other cuts -> F1 {f1:.3f} (target >= 0.95)",
        flush=True,
    )


def pyscenedetect_cuts(path: Path) -> list[int]:
    from scenedetect import ContentDetector, detect

    scenes = detect(str(path), ContentDetector())
    return [start.get_frames() for start, _ in scenes[1:]]


def part_shots(path: Path, repeat: int) -> None:
    ratios, cpu_ratios = [], []
    for _ in range(repeat):
        ours, ours_cpu, cuts = timed_cpu(lambda: detect_shots(path))
        theirs, theirs_cpu, psd = timed_cpu(lambda: pyscenedetect_cuts(path))
        ratios.append(theirs / ours)
        cpu_ratios.append(theirs_cpu / ours_cpu)
        print(
            f"[shots] {path.name}: detect_shots {ours:.1f} s wall, {ours_cpu:.1f} s CPU "
            f"({len(cuts)} cuts), PySceneDetect detect-content {theirs:.1f} s wall, "
            f"{theirs_cpu:.1f} s CPU ({len(psd)} cuts) -> {theirs / ours:.2f}x faster wall, "
            f"{theirs_cpu / ours_cpu:.2f}x CPU (target >= 1.7x)",
            flush=True,
        )
    spread("[shots] speed-up (wall)", ratios)
    spread("[shots] speed-up (CPU)", cpu_ratios)
    info = probe(path)
    truth = [round(t * info.fps_nominal) for t in media_data.cut_times_s(info.duration_s)]
    for who, found in (("videoidx", [c.frame for c in cuts]), ("PySceneDetect", psd)):
        hits, _, false, f1 = f1_within_one_frame(truth, found)
        print(
            f"[shots] {who} on the generated truth: {hits}/{len(truth)} within one frame, "
            f"{false} other cuts -> F1 {f1:.3f}",
            flush=True,
        )
    media = json.loads((MEDIA / "media.json").read_text())
    for name in ("skv_bikes.mp4", "psd_testvideo.mp4"):
        if not (MEDIA / name).is_file():
            continue
        entry = media[name]
        expected = entry.get("hard_cuts", entry.get("shot_starts", [0])[1:])
        mine = [c.frame for c in detect_shots(MEDIA / name)]
        theirs_cuts = pyscenedetect_cuts(MEDIA / name)
        print(
            f"[shots] truth {name}: expected {expected}, videoidx {mine}, PySceneDetect "
            f"{theirs_cuts} -> videoidx within one frame: "
            f"{f1_within_one_frame(expected, mine)[3] == 1.0}",
            flush=True,
        )


def part_cases(folder: Path) -> None:
    from videoidx.media.synth_shots import make_shot_case, shot_cases

    totals = [0, 0, 0]
    for case in shot_cases():
        path = folder / f"{case.name}{case.suffix}"
        if not path.is_file():
            make_shot_case(case, folder)
        found = [c.frame for c in detect_shots(path)]
        hits, missed, false, _ = f1_within_one_frame(case.cut_frames(), found)
        totals = [totals[0] + hits, totals[1] + missed, totals[2] + false]
        if missed or false:
            print(f"[cases] {case.name}: truth {case.cut_frames()}, found {found}", flush=True)
    hits, missed, false = totals
    f1 = 2 * hits / max(1, 2 * hits + missed + false)
    print(
        f"[cases] {len(shot_cases())} generated cases: {hits} cuts found within one frame, "
        f"{missed} missed, {false} other cuts -> F1 {f1:.3f} (target >= 0.95)",
        flush=True,
    )


def part_ingest(events: int) -> None:
    import tempfile

    import search as search_bench

    from videoidx.store import Store
    from videoidx.store.rows import event_terms

    target = 50_000
    lib = search_bench.Library(50_000, seed=1)
    cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "ingest.duckdb") as store:
        spent, _ = search_bench.ingest(store, lib, events, 10, 1000, 20_000, cpu)
        n = store.index_size().events
    # The floor any ingest pays, timed in the same run: turning the same number of events
    # into search terms, in Python, with nothing stored.
    sample = [lib.clip("floor", i, 10) for i in range(max(n // 10, 1) // 10)]
    t0 = time.perf_counter()
    for item in sample:
        for e in item.analysis.events if item.analysis else ():
            event_terms(e.label, e.description, (), e.objects, e.location, e.on_screen_text)
    floor_s = (time.perf_counter() - t0) * 10
    print(
        f"[ingest] {n:,} events in {spent:.1f} s wall / {cpu[0]:.1f} s CPU in the store -> "
        f"{n / spent:,.0f} events/s wall ({n / spent / target:.2f}x the target of "
        f"{target:,}/s), {n / cpu[0]:,.0f} events/s of CPU; baseline: tokenizing alone "
        f"{n / floor_s:,.0f} events/s, the store takes {spent / floor_s:.1f}x that",
        flush=True,
    )


def part_keys(path: Path) -> None:
    base = ffmpeg_null(path, "-skip_frame", "nokey")[0]
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
        "--parts",
        default="full,shots,cases,keys,ingest",
        help="comma list: full,shots,cases,keys,ingest,rss",
    )
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of full and shots")
    parser.add_argument("--ingest-events", type=int, default=200_000)
    parser.add_argument("--file", type=Path, help="benchmark this file instead")
    parser.add_argument("--child-scan", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_scan:
        child_scan(args.child_scan)
        return
    parts = set(args.parts.split(","))
    files: list[Path] = []
    # Generating the files is slow: only when a part reads them.
    if parts & {"full", "shots", "keys", "rss"}:
        files = [args.file] if args.file else [media_data.ten_minute_720p()]
        if args.hour and not args.quick and not args.file:
            files.append(media_data.one_hour_1080p())
    started = time.perf_counter()
    print(f"machine load (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if "cases" in parts:
        part_cases(media_data.BENCH_DIR / "shot_cases")
    if "ingest" in parts:
        part_ingest(args.ingest_events)
    for path in files:
        if "full" in parts:
            part_full(path, args.repeat)
        if "shots" in parts:
            part_shots(path, args.repeat)
        if "keys" in parts:
            part_keys(path)
        if "rss" in parts and (args.file or "1h" in path.name):
            part_rss(path)
    print(f"benchmark wall time {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
