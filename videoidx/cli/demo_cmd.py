"""``videoidx demo``: index a video with the offline indexer and serve its timeline on the page.

With no file it makes a sample video (no download needed), so the README's first command works on
a fresh machine with no key and no network. The page starts first and shows the indexing live;
the terminal shows the same progress and then the stored timeline and a search. ``--no-serve``
stops after printing (for scripts and tests).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from videoidx.cli.serve_cmd import add_serve_flags, serve_settings
from videoidx.store import Store
from videoidx.times import clock_span
from videoidx.vocab import RunStatus
from videoidx.wording import count


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo", help="index a sample (or given) video offline and serve its timeline"
    )
    p.add_argument("file", nargs="?", help="a video to index (default: a generated sample)")
    p.add_argument("--query", default="moving", help="a search to show (default: moving)")
    p.add_argument(
        "--no-serve", action="store_true", help="print the timeline and exit, serve no page"
    )
    add_serve_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from videoidx.catalog import offline_indexer
    from videoidx.pipeline.progress import TerminalBar
    from videoidx.pipeline.run import index_video
    from videoidx.pipeline.sample_video import make_sample_video

    settings = serve_settings(args, indexer=offline_indexer())
    path = Path(args.file) if args.file else make_sample_video(Path("videoidx-sample.mp4"))
    if args.no_serve:
        result = index_video(path, settings=settings, progress=TerminalBar())
        with Store.open(settings.db_path) as store:
            _print_summary(store, result, settings.db_path, args.query)
            print(next_hints(result.video_id, args.db, serving=False))
        return 0 if result.status == RunStatus.DONE else 1

    from ui.server import serve

    server = serve(settings, block=False)
    print(f"open {server.url} in a browser; indexing {path.name} now (Ctrl-C stops)", flush=True)
    try:
        job = server.ctx.jobs.submit([path], settings, progress=TerminalBar())[0]
        server.ctx.jobs.wait_idle()
        done = next(j for j in server.ctx.jobs.snapshot() if j.job_id == job.job_id)
        if done.result is None:
            print(f"\n{path.name}: {done.status}: {done.error}")
        else:
            _print_summary(server.ctx.store, done.result, settings.db_path, args.query)
            print(next_hints(done.result.video_id, args.db, serving=True))
        print(f"\nthe page is at {server.url} (Ctrl-C stops)", flush=True)
        server.blocks.block_thread()
    finally:
        server.close()
    return 0


def _print_summary(store: Store, result: Any, db_path: str, query: str) -> None:
    from videoidx.store import search

    print(
        f"\n{result.title}: {result.status}, {count(result.clips_total, 'clip')}, "
        f"{count(result.events, 'event')}, "
        f"stored in {db_path} (video_id {result.video_id})\n"
    )
    for e in store.events(result.video_id):
        print(f"  {clock_span(e.start_s, e.end_s)}  {e.label:<14} {e.description[:90]}")
    hits = search(store, query, video_ids=[result.video_id], limit=5)
    if not hits:
        print(f"\nno hits for {query!r}")
        return
    print(f"\nsearch {query!r}:")
    for h in hits:
        print(f"  {h.score:6.3f}  {clock_span(h.start_s, h.end_s)}  {h.label}")


def next_hints(video_id: str, db: str | None, *, serving: bool) -> str:
    """The commands to try next, with the ``--db`` the user passed (without it they would open
    another library). While the demo serves, its process holds the DuckDB file, so another
    ``videoidx`` cannot open it: say to stop the demo first."""
    db_flag = f" --db {shlex.quote(db)}" if db else ""
    hints = [
        f"videoidx serve{db_flag}",
        f"videoidx search QUERY{db_flag}",
        f"videoidx export {video_id} --format vtt{db_flag}",
    ]
    model = _model_hint()
    if model:
        hints.append(model + db_flag)
    lead = "next:"
    if serving:
        lead = "next (the running demo holds the library: stop it with Ctrl-C first, then):"
    return "\n" + "\n  ".join([lead, *hints])


def _model_hint() -> str:
    """How to index with a model that finds characters, from what the registry holds."""
    from videoidx.catalog import indexer_choices, provider_choices

    model = next((c for c in indexer_choices() if c.finds_characters), None)
    if model is None:
        return ""
    hosted = [p.name for p in provider_choices(indexer=model.name) if p.estimated_by_default]
    provider = f" --provider {hosted[0]}" if hosted else ""
    return f"videoidx index FILE --indexer {model.name}{provider}"
