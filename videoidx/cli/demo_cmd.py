"""``videoidx demo``: index a video with the offline indexer and show its timeline.

With no file it makes a sample video (no download needed), so the README's first command works on
a fresh machine with no key and no network. It then prints the stored timeline and a search.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from videoidx.settings import resolve_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo", help="index a sample (or given) video offline and print its timeline"
    )
    p.add_argument("file", nargs="?", help="a video to index (default: a generated sample)")
    p.add_argument("--db", help="DuckDB file (default: the db_path setting)")
    p.add_argument("--query", default="moving", help="a search to show (default: moving)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from videoidx.pipeline.progress import TerminalBar
    from videoidx.pipeline.run import index_video
    from videoidx.pipeline.sample_video import make_sample_video
    from videoidx.store import Store, search

    settings = resolve_settings({"db_path": args.db, "indexer": "local"})
    path = Path(args.file) if args.file else make_sample_video(Path("videoidx-sample.mp4"))
    result = index_video(path, settings=settings, progress=TerminalBar())
    print(
        f"\n{result.title}: {result.status}, {result.clips_total} clips, {result.events} events, "
        f"stored in {settings.db_path} (video_id {result.video_id})\n"
    )
    with Store.open(settings.db_path) as store:
        for e in store.events(result.video_id):
            print(f"  {_clock(e.start_s)}-{_clock(e.end_s)}  {e.label:<14} {e.description[:90]}")
        hits = search(store, args.query, video_ids=[result.video_id], limit=5)
    print(f"\nsearch {args.query!r}:")
    for h in hits:
        print(f"  {h.score:6.3f}  {_clock(h.start_s)}-{_clock(h.end_s)}  {h.label}")
    print(
        "\nnext: videoidx search QUERY | videoidx export "
        f"{result.video_id} --format vtt | videoidx index FILE --indexer glm --provider zai"
    )
    return 0 if result.status == "done" else 1


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:04.1f}"
