"""``videoidx eval FILE``: score search on a moment-retrieval file over the indexed library."""

from __future__ import annotations

import argparse
import json
from typing import Any

from videoidx.cli.store_cmds import _open_existing
from videoidx.evaluate import EvalReport, evaluate
from videoidx.evaluate.datasets import FORMATS
from videoidx.evaluate.metrics import Scores
from videoidx.evaluate.runner import ALL_MODES
from videoidx.pipeline.embed import query_embedder
from videoidx.settings import resolve_settings
from videoidx.store.search import MODES
from videoidx.times import clock_span
from videoidx.wording import count


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score search on a moment-retrieval file (Charades-STA or QVHighlights)",
        description=(
            "Run every query of FILE through search, restricted to its video, and print "
            "R1@IoU0.5, R1@IoU0.7, mean IoU of the top hit and recall@5 per search mode, next "
            "to a query-blind baseline. Videos are named by video id, title or file name."
        ),
    )
    p.add_argument(
        "file", help="Charades-STA lines 'VIDEO START END##query', or QVHighlights JSONL"
    )
    p.add_argument("--db", help="store file (default: the db_path setting, VIDEOIDX_DB)")
    p.add_argument(
        "--mode",
        choices=(ALL_MODES, *MODES),
        default=ALL_MODES,
        help="search mode to score (default: every mode this store can run)",
    )
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="auto")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--per-query", action="store_true", help="with --json: every query's hits and IoU too"
    )
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    settings = resolve_settings({"db_path": args.db})
    embedder = None if args.mode == "keyword" else query_embedder(settings)
    with _open_existing(args) as store:
        report = evaluate(store, args.file, mode=args.mode, fmt=args.fmt, embedder=embedder)
    if args.json:
        print(json.dumps(report.as_dict(per_query=args.per_query), ensure_ascii=False))
        return 0
    print(render(report))
    return 0


def render(report: EvalReport) -> str:
    """The report as a small table for a terminal."""
    lines = [
        f"{report.path}: {count(report.queries, 'query', 'queries')}, "
        f"{report.evaluated} on {count(report.videos, 'video')} in the library"
    ]
    for what, names in (("not in the library", report.unknown), ("ambiguous", report.ambiguous)):
        if names:
            listed = ", ".join(f"{n} ({c})" for n, c in list(names.items())[:10])
            more = f" and {len(names) - 10} more" if len(names) > 10 else ""
            lines.append(f"left out, video {what}: {listed}{more}")
    lines.append(f"{'mode':<10} {'R1@0.5':>7} {'R1@0.7':>7} {'mIoU':>7} {'R@5':>7}")
    for mode, scores in report.modes.items():
        lines.append(_row(mode, scores))
    if report.baseline and report.baseline_window:
        window = clock_span(*report.baseline_window)
        lines.append(_row("baseline", report.baseline) + f"  (always {window})")
    for mode, why in report.skipped.items():
        lines.append(f"{mode:<10} skipped: {why}")
    return "\n".join(lines)


def _row(name: str, s: Scores) -> str:
    return (
        f"{name:<10} {s.r1_iou_05:>7.3f} {s.r1_iou_07:>7.3f} {s.mean_iou:>7.3f} "
        f"{s.recall_at_5:>7.3f}"
    )
