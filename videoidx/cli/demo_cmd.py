"""``videoidx demo``: index a video with the offline indexer and serve its timeline on the page.

With no file it makes a sample video (no download needed), so the README's first command works on
a fresh machine with no key and no network. The sample shows slides of text and, when espeak-ng is
installed, speaks (``pipeline.sample_video``), so the printed search finds what was written and
said. The page starts first and shows the indexing live; the terminal shows the same progress and
then the stored timeline, the video's notes (why speech or text was not read) and a search, whose
hits say what they are (seen, said, on screen). ``--no-serve`` stops after printing (for scripts
and tests).
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
    p.add_argument(
        "--query",
        help="a search to show (default: 'budget' in the sample, which says and shows it; "
        "'moving' in your own file)",
    )
    p.add_argument(
        "--no-serve", action="store_true", help="print the timeline and exit, serve no page"
    )
    add_serve_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from videoidx.catalog import offline_indexer
    from videoidx.pipeline.progress import TerminalBar
    from videoidx.pipeline.run import index_video
    from videoidx.pipeline.sample_video import SAMPLE_QUERY, make_sample_video, sample_path

    settings = serve_settings(args, indexer=offline_indexer())
    path = Path(args.file) if args.file else make_sample_video(sample_path())
    query = args.query or ("moving" if args.file else SAMPLE_QUERY)
    if args.no_serve:
        result = index_video(path, settings=settings, progress=TerminalBar())
        with Store.open(settings.db_path) as store:
            _print_summary(store, result, settings.db_path, query)
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
            _print_summary(server.ctx.store, done.result, settings.db_path, query)
            print(next_hints(done.result.video_id, args.db, serving=True))
        print(f"\nthe page is at {server.url} (Ctrl-C stops)", flush=True)
        server.blocks.block_thread()
    finally:
        server.close()
    return 0


def _print_summary(store: Store, result: Any, db_path: str, query: str) -> None:
    from videoidx.store import search
    from videoidx.store.search import MAX_LIMIT

    print(
        f"\n{result.title}: {result.status}, {count(result.clips_total, 'clip')}, "
        f"{count(result.events, 'event')}, "
        f"stored in {db_path} (video_id {result.video_id})\n"
    )
    # The timeline: events and, in time order among them, what was said (search's listing of
    # the video holds every kind; events come from the store with their descriptions).
    said = [
        h
        for h in search(store, "", video_ids=[result.video_id], limit=MAX_LIMIT)
        if h.kind == "speech"
    ]
    rows = [(e.start_s, e.end_s, e.label, e.description) for e in store.events(result.video_id)]
    rows += [(h.start_s, h.end_s, "said", f'"{h.label}"') for h in said]
    for start_s, end_s, label, text in sorted(rows, key=lambda r: (r[0], r[1])):
        print(f"  {clock_span(start_s, end_s)}  {label:<14} {text[:90]}")
    for note in dict.fromkeys(result.notes):
        print(f"  note: {note}")
    hits = search(store, query, video_ids=[result.video_id], limit=8)
    if not hits:
        print(f"\nno hits for {query!r}")
        return
    print(f"\nsearch {query!r}:")
    for h in hits:
        what = HIT_KINDS.get(h.kind, h.kind)
        print(f"  {h.score:6.3f}  {clock_span(h.start_s, h.end_s)}  {what:<9} {h.label[:80]}")


HIT_KINDS = {"event": "seen", "speech": "said", "screen_text": "on screen"}
"""How the demo names each kind of search hit."""


def next_hints(video_id: str, db: str | None, *, serving: bool) -> str:
    """The commands to try next, with the ``--db`` the user passed (without it they would open
    another library). While the demo serves, its process holds the DuckDB file, so another
    ``videoidx`` cannot open it: say to stop the demo first."""
    db_flag = f" --db {shlex.quote(db)}" if db else ""
    hints = [
        f"videoidx serve{db_flag}",
        f"videoidx search QUERY{db_flag}",
        f"videoidx demo VIDEO.mp4{db_flag}",
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
