"""Benchmark: peak memory of indexing one long video offline, speech and on-screen text on.

Indexes the file in a child process (``index_video`` with the offline indexer, the local
transcriber and OCR) and samples the resident memory of the child and every process under it
(ffmpeg readers) every 0.2 s from ``/proc``, so the peak is of the whole tree at one moment,
not the largest process on its own. Linux only.

    .venv/bin/python benchmarks/memory.py                    # the 1-hour 1080p file (generated)
    .venv/bin/python benchmarks/memory.py --file talk.mp4    # any file
    .venv/bin/python benchmarks/memory.py --embeddings on    # also embed (when the embedder exists)
    VIDEOIDX_BENCH_DIR=/data/bench .venv/bin/python benchmarks/memory.py   # shared file cache

Target (issue 18): peak RSS <= 1 GB on the 1-hour 1080p file with speech and embeddings on.
The baseline printed beside it is a plain ffmpeg decode of the same file at the same time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import media_data

from videoidx.media.ffmpeg_bin import ffmpeg_exe

TARGET_MB = 1024.0
SAMPLE_S = 0.2


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _status_mb(pid: int) -> dict[str, float]:
    """Resident memory of one process in MB: VmRSS and its RssAnon and RssFile parts."""
    found: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                found[key] = int(value.split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        pass  # the process ended while we looked
    return found


def _pss_mb(pid: int) -> float:
    """Proportional set size: pages shared with other processes count as a fraction each."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def tree_rss(root: int) -> dict[str, float]:
    """Resident memory (MB) of ``root`` and all its descendants now, summed by process name.

    Besides each name's total, ``"NAME anon"`` and ``"NAME file"`` keys split it into heap
    (anonymous) pages and mapped files (shared libraries, models read by mmap), which tells
    a buffer held too long from a library merely loaded. ``"NAME pss"`` is the proportional
    set size: every ffmpeg reader maps the same ffmpeg binary, which RSS counts once per
    process and PSS once in all.
    """
    tree = _children()
    by_name: dict[str, float] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        name = _name(pid)
        status = _status_mb(pid)
        by_name[name] = by_name.get(name, 0.0) + status.get("VmRSS", 0.0)
        for part in ("anon", "file"):
            key = f"{name} {part}"
            by_name[key] = by_name.get(key, 0.0) + status.get(f"Rss{part.title()}", 0.0)
        by_name[f"{name} pss"] = by_name.get(f"{name} pss", 0.0) + _pss_mb(pid)
        todo += tree.get(pid, [])
    return by_name


def _total(parts: dict[str, float]) -> float:
    return sum(mb for name, mb in parts.items() if " " not in name)


def _pss_total(parts: dict[str, float]) -> float:
    return sum(mb for name, mb in parts.items() if name.endswith(" pss"))


def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants now."""
    return _total(tree_rss(root))


PEAK_PARTS: dict[str, float] = {}
"""The process tree at the last :func:`watch`'s peak, MB by process name (python, ffmpeg)."""
PEAK_PSS_MB = [0.0]
"""The largest sum of the tree's proportional set sizes during the last :func:`watch`."""


def watch(cmd: list[str]) -> tuple[float, float, int, str]:
    """Run ``cmd``; (peak tree RSS in MB, wall seconds, exit code, last stdout line)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    PEAK_PSS_MB[0] = 0.0
    while proc.poll() is None:
        parts = tree_rss(proc.pid)
        PEAK_PSS_MB[0] = max(PEAK_PSS_MB[0], _pss_total(parts))
        if _total(parts) > peak:
            peak = _total(parts)
            PEAK_PARTS.clear()
            PEAK_PARTS.update(parts)
        time.sleep(SAMPLE_S)
    out = proc.stdout.read() if proc.stdout else ""
    lines = out.strip().splitlines()
    return peak, time.perf_counter() - started, proc.returncode, lines[-1] if lines else ""


def child_index(path: Path, overrides: dict[str, object]) -> None:
    from videoidx import index_video, resolve_settings
    from videoidx.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        flags = {"db_path": str(Path(tmp) / "mem.duckdb"), **overrides}
        settings = resolve_settings(flags, env={}, config_path=os.devnull)
        result = index_video(path, settings=settings)
        with Store.open(flags["db_path"], read_only=True) as store:
            said = len(store.speech(result.video_id)) if result.video_id else 0
        print(
            json.dumps(
                {
                    "status": str(result.status),
                    "events": result.events,
                    "speech": said,
                    "notes": result.notes,
                }
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, help="index this file instead of the 1-hour one")
    ap.add_argument(
        "--embeddings",
        choices=("off", "on"),
        default="off",
        help="on: leave the embedder at its default (needs the semantic-search settings)",
    )
    ap.add_argument(
        "--speech",
        action="store_true",
        help="the 1-hour file with real speech all through instead of a tone (generated once)",
    )
    ap.add_argument("--set", action="append", default=[], help="NAME=VALUE setting override")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_index(args.child, json.loads(args.overrides))
        return
    from videoidx.settings import Settings

    known = Settings().flat()
    overrides: dict[str, object] = {"indexer": "local", "local_ocr": True, "transcriber": "local"}
    if "embedder" in known:
        if args.embeddings == "off":
            overrides["embedder"] = "none"
    elif args.embeddings == "on":
        raise SystemExit("--embeddings on: this version has no embedder setting")
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = value
    if args.file:
        path = args.file
    else:
        path = media_data.one_hour_1080p_speech() if args.speech else media_data.one_hour_1080p()
    if not path.is_file():
        raise SystemExit(f"{path} does not exist; check the path")
    print(f"machine load (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    base_peak, base_s, _, _ = watch(
        [ffmpeg_exe(), "-v", "error", "-threads", "2", "-i", str(path), "-f", "null", "-"]
    )
    cmd = [sys.executable, __file__, "--child", str(path), "--overrides", json.dumps(overrides)]
    peak, took, code, last = watch(cmd)
    if code != 0:
        raise SystemExit(f"indexing {path} failed (exit {code})")
    result = json.loads(last)
    print(
        f"[memory] {path.name}: indexed ({result['status']}, {result['events']} events, "
        f"{result.get('speech', 0)} speech segments) in "
        f"{took:.0f} s with {overrides}; peak RSS of the process tree {peak:.0f} MB "
        f"({peak / TARGET_MB:.2f}x the {TARGET_MB:.0f} MB target); baseline: a plain ffmpeg "
        f"decode peaks at {base_peak:.0f} MB in {base_s:.0f} s ({peak / max(base_peak, 1):.1f}x)",
        flush=True,
    )
    parts = ", ".join(f"{n} {mb:.0f} MB" for n, mb in sorted(PEAK_PARTS.items()))
    print(f"  at the peak: {parts}")
    print(
        f"  peak PSS of the tree (shared pages, such as the ffmpeg binary, counted once): "
        f"{PEAK_PSS_MB[0]:.0f} MB ({PEAK_PSS_MB[0] / TARGET_MB:.2f}x the target)"
    )
    for note in result["notes"]:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
