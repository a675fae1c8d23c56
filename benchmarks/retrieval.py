"""Retrieval quality on generated videos, offline: ``videoidx eval`` on known moments.

Builds the videos of :mod:`benchmarks.retrieval_data` (espeak-ng phrases over colour footage,
Pillow slides between them), indexes each one with the default settings and no key (the local
indexer, the packaged faster-whisper tiny.en, RapidOCR), and scores three Charades-STA files with
:func:`videoidx.evaluate.evaluate` in every search mode the store supports:

* ``spoken``: the phrases' own words (issue 14: R1@IoU0.5 >= 0.9);
* ``written``: the slides' own words (issue 14: R1@IoU0.5 >= 0.9);
* ``paraphrased``: every phrase, slide and colour segment asked for in other words (issue 15:
  hybrid recall@5 >= 0.9 and at least 0.3 above keyword).

Misses are listed with the top hit, so a failure says whether the words were not found or the
bounds were off.

    .venv/bin/python benchmarks/retrieval.py [--videos 4] [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.retrieval_data import make_videos, write_sets  # noqa: E402
from videoidx.cli.eval_cmd import render  # noqa: E402
from videoidx.evaluate import EvalReport, evaluate  # noqa: E402
from videoidx.pipeline.embed import query_embedder  # noqa: E402
from videoidx.pipeline.run import index_video  # noqa: E402
from videoidx.settings import resolve_settings  # noqa: E402
from videoidx.store import Store  # noqa: E402


def index_offline(videos: list[Path], db: Path) -> float:
    """Index ``videos`` into ``db`` with the defaults and no key; returns the wall seconds."""
    settings = resolve_settings({"db_path": str(db)}, env={}, config_path=os.devnull)
    t0 = time.perf_counter()
    for path in videos:
        result = index_video(path, settings=settings)
        if result.status != "done":
            raise SystemExit(f"indexing {path} ended {result.status}: {result}")
    return time.perf_counter() - t0


def misses(report: EvalReport, mode: str = "keyword") -> list[str]:
    """One line per query whose top hit is under IoU 0.5."""
    out = []
    for r in report.results:
        if r.mode != mode or r.top_iou >= 0.5:
            continue
        top = f"{r.hits[0][0]:.2f}-{r.hits[0][1]:.2f} ({r.hit_kinds[0]})" if r.hits else "none"
        truth = ", ".join(f"{a:.2f}-{b:.2f}" for a, b in r.truth)
        out.append(f"  {r.video_id[:8]} {r.query!r}: true {truth}, top {top}, IoU {r.top_iou:.2f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--videos", type=int, default=4, help="videos of 4 topics each (max 4)")
    ap.add_argument("--out", type=Path, help="keep the videos, store and query files here")
    ap.add_argument("--json", action="store_true", help="print the reports as JSON too")
    args = ap.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="videoidx-retrieval-"))
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    moments = make_videos(folder, videos=args.videos)
    sets = write_sets(folder, moments)
    made_s = time.perf_counter() - t0
    videos = sorted(folder.glob("retrieval_*.mp4"))
    db = folder / "retrieval.duckdb"
    db.unlink(missing_ok=True)
    indexed_s = index_offline(videos, db)
    reports: dict[str, EvalReport] = {}
    # The searches' own embedder (the default settings' one), so the semantic modes run.
    settings = resolve_settings({"db_path": str(db)}, env={}, config_path=os.devnull)
    embedder = query_embedder(settings)
    with Store.open(db) as store:
        for name, path in sets.items():
            reports[name] = evaluate(store, path, embedder=embedder)
    print(
        f"{len(videos)} videos, {len(moments)} moments; generated in {made_s:.0f} s, indexed "
        f"offline in {indexed_s:.0f} s; load average {load_before[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)"
    )
    for name, report in reports.items():
        print(f"\n== {name}")
        print(render(report))
        lost = misses(report)
        if lost:
            print("keyword misses (top hit under IoU 0.5):")
            print("\n".join(lost))
    if args.json:
        print(json.dumps({n: r.as_dict() for n, r in reports.items()}))


if __name__ == "__main__":
    main()
