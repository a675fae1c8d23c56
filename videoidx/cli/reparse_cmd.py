"""``videoidx reparse``: read the stored model replies again with today's parser, at no cost."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from videoidx.settings import resolve_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "reparse",
        help="re-read the stored model replies with the current parser (no request, no cost)",
    )
    p.add_argument("--db", help="store file (default: the db_path setting, VIDEOIDX_DB)")
    p.add_argument("--video", help="only this video id (default: every video)")
    p.set_defaults(func=run_reparse)


def run_reparse(args: argparse.Namespace) -> int:
    from videoidx.pipeline.reparse import reparse  # imports the indexers: only when run

    settings = resolve_settings({"db_path": args.db} if args.db else {})
    results = reparse(settings.db_path, video_id=args.video, settings=settings)
    if not results:
        print("the store holds no videos", file=sys.stderr)
    for r in results:
        recovered = f" ({r.clips_recovered} failed before)" if r.clips_recovered else ""
        print(
            f"{r.video_id}  {r.title}: {r.clips_read} clips re-read, {r.clips_changed} "
            f"rewritten{recovered}, events {r.events_before} -> {r.events_after}"
            + (
                f", {r.characters_placed} characters placed by the rule"
                if r.characters_placed
                else ""
            )
        )
        for note in r.notes:
            print(f"  {note}")
    return 0
