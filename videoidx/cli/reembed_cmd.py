"""``videoidx reembed``: give every search document a vector of the active embedder's model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from videoidx.pipeline.embed import reembed
from videoidx.settings import resolve_settings
from videoidx.wording import count


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "reembed",
        help="embed events, speech and on-screen text for semantic search (what lacks a vector)",
    )
    p.add_argument("--db", help="store file (default: the db_path setting, VIDEOIDX_DB)")
    p.add_argument("--video", action="append", help="only this video id (repeatable)")
    p.add_argument(
        "--all",
        action="store_true",
        help="embed every document again, not only those without a vector of this model",
    )
    p.set_defaults(func=run_reembed)


def run_reembed(args: argparse.Namespace) -> int:
    settings = resolve_settings({"db_path": args.db})

    def progress(done: int, total: int) -> None:
        print(f"\rembedded {done}/{total}", end="", file=sys.stderr, flush=True)

    report = reembed(settings=settings, video_ids=args.video, redo=args.all, progress=progress)
    if report.docs:
        print(file=sys.stderr)
    cost = f", ${report.usage.cost_usd:.4f}" if report.usage.cost_usd else ""
    print(f"{count(report.docs, 'document')} embedded with {report.model_key}{cost}")
    return 0
