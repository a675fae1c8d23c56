"""``videoidx search | export | videos | delete``: use the timeline store from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoidx.errors import StoreError
from videoidx.pipeline.embed import query_embedder
from videoidx.settings import resolve_settings
from videoidx.store import Store, search
from videoidx.store import export as exports
from videoidx.store.search import KINDS, MODES
from videoidx.times import clock, clock_span, parse_seconds
from videoidx.wording import count

if TYPE_CHECKING:
    from videoidx.client import Client

FORMATS = ("json", "vtt", "srt", "chapters", "parquet")


def time_flag(text: str) -> float:
    """A time typed on the command line, read like the page's fields and Q&A read it."""
    seconds = parse_seconds(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; write seconds (90), m:ss (1:30) or h:mm:ss (1:02:03)"
        )
    return seconds


def _db_path(args: argparse.Namespace) -> str:
    return resolve_settings({"db_path": args.db}).db_path


def _served(args: argparse.Namespace) -> Client | None:
    """The server holding the store, when ``videoidx serve`` runs on it (says so once)."""
    from videoidx.routing import served_client

    return served_client(_db_path(args))


def _open_existing(args: argparse.Namespace) -> Store:
    path = _db_path(args)
    if not Path(path).is_file():
        raise StoreError(f"no store at {path}; index a video first or pass --db PATH")
    return Store.open(path)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "search", help="search the timeline by words (BM25), by meaning, or both (hybrid)"
    )
    p.add_argument("query", help="words to look for; empty lists events in time order")
    p.add_argument("--db", help="store file (default: the db_path setting, VIDEOIDX_DB)")
    p.add_argument("--video", action="append", help="limit to this video id (repeatable)")
    p.add_argument(
        "--from",
        dest="start_s",
        type=time_flag,
        metavar="TIME",
        help="events ending after TIME (seconds, m:ss or h:mm:ss)",
    )
    p.add_argument(
        "--to",
        dest="end_s",
        type=time_flag,
        metavar="TIME",
        help="events starting before TIME (seconds, m:ss or h:mm:ss)",
    )
    p.add_argument("--character", help="events with this character (name or id)")
    p.add_argument("--label", help="events with exactly this label")
    p.add_argument(
        "--mode",
        choices=MODES,
        help="keyword (BM25), semantic (by meaning: needs an embedder and `videoidx reembed`) "
        "or hybrid (both, fused); default: hybrid when the store has vectors, else keyword",
    )
    p.add_argument(
        "--kind", action="append", choices=KINDS, help="only this kind of hit (repeatable)"
    )
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(func=run_search)

    p = subparsers.add_parser("export", help="export a video's timeline")
    p.add_argument("video_id")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.add_argument(
        "--out",
        help="output file (default: stdout); for parquet a folder, one file per table "
        "(default: ./VIDEO_ID-parquet)",
    )
    p.add_argument(
        "--speech",
        action="store_true",
        help="with --format srt or vtt: subtitles of what was said, instead of the events",
    )
    p.add_argument("--db", help="store file (default: the db_path setting)")
    p.set_defaults(func=run_export)

    p = subparsers.add_parser("import", help="import a timeline JSON written by export")
    p.add_argument("path")
    p.add_argument("--db", help="store file (default: the db_path setting)")
    p.set_defaults(func=run_import)

    p = subparsers.add_parser("videos", help="list the videos in the store")
    p.add_argument("--db", help="store file (default: the db_path setting)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_videos)

    p = subparsers.add_parser("delete", help="delete a video and everything indexed for it")
    p.add_argument("video_id")
    p.add_argument("--db", help="store file (default: the db_path setting)")
    p.set_defaults(func=run_delete)


def run_search(args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {
        "mode": args.mode,
        "kinds": args.kind,
        "video_ids": args.video,
        "start_s": args.start_s,
        "end_s": args.end_s,
        "character": args.character,
        "label": args.label,
        "limit": args.limit,
    }
    client = _served(args)
    if client is not None:
        with client:  # the server embeds the query with its own embedder
            hits = client.search(args.query, **filters)
    else:
        settings = resolve_settings({"db_path": args.db})
        embedder = None if args.mode == "keyword" else query_embedder(settings)
        with _open_existing(args) as store:
            hits = search(store, args.query, embedder=embedder, **filters)
    if args.json:
        for hit in hits:
            print(json.dumps(asdict(hit), ensure_ascii=False))
        return 0
    if not hits:
        print("no matching events, speech or on-screen text", file=sys.stderr)
    for hit in hits:
        # Speech and on-screen text hits carry their words in the label, with no description.
        what = f"{hit.label}: {hit.description}" if hit.description else f'"{hit.label}"'
        print(
            f"{hit.score:7.3f}  {hit.title[:24]:<24}  {clock_span(hit.start_s, hit.end_s)}  "
            f"{hit.kind:<11}  {what}"
        )
    return 0


def run_export(args: argparse.Namespace) -> int:
    client = _served(args)
    if client is not None:
        with client:
            return _export_through(client, args)
    with _open_existing(args) as store:
        if args.format == "parquet":
            return _wrote_parquet(exports.export_parquet(store, args.video_id, _parquet_dir(args)))
        if args.format == "json":
            text = (
                json.dumps(
                    exports.timeline_document(store, args.video_id), ensure_ascii=False, indent=1
                )
                + "\n"
            )
        elif args.format == "vtt":
            text = exports.to_webvtt(store, args.video_id, speech=args.speech)
        elif args.format == "srt":
            text = exports.to_srt(store, args.video_id, speech=args.speech)
        else:
            text = exports.to_chapters(store, args.video_id)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _parquet_dir(args: argparse.Namespace) -> str:
    return str(args.out or f"{args.video_id}-parquet")


def _wrote_parquet(files: list[Path]) -> int:
    print(
        f"wrote {count(len(files), 'parquet file')} to the folder {files[0].parent}",
        file=sys.stderr,
    )
    return 0


def _export_through(client: Client, args: argparse.Namespace) -> int:
    """``export`` by a server that holds the store: the same text, written here."""
    if args.format == "parquet":
        return _wrote_parquet(client.export_parquet(args.video_id, _parquet_dir(args)))
    if args.format == "json":
        text = json.dumps(client.export(args.video_id, "json"), ensure_ascii=False, indent=1)
        text += "\n"
    else:
        text = str(client.export(args.video_id, args.format, speech=args.speech))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def run_import(args: argparse.Namespace) -> int:
    with Store.open(_db_path(args)) as store:
        video_id = exports.import_json(store, args.path)
    print(f"imported video {video_id}", file=sys.stderr)
    return 0


def run_videos(args: argparse.Namespace) -> int:
    client = _served(args)
    if client is not None:
        with client:
            videos = client.videos()
    else:
        with _open_existing(args) as store:
            videos = store.list_videos()
    if args.json:
        print(json.dumps([asdict(v) for v in videos], ensure_ascii=False, indent=1))
        return 0
    if not videos:
        print("the store holds no videos", file=sys.stderr)
    for v in videos:
        print(
            f"{v.video_id}  {clock(v.duration_s)}  clips {v.clips} (failed {v.clips_failed})  "
            f"events {v.events}  {v.last_run_status or '-'}  {v.title}"
        )
    return 0


def run_delete(args: argparse.Namespace) -> int:
    client = _served(args)
    if client is not None:
        with client:
            client.delete(args.video_id)  # the server raises the same "not in the store"
    else:
        with _open_existing(args) as store:
            if not store.delete_video(args.video_id):
                raise StoreError(
                    f"video {args.video_id} is not in the store; `videoidx videos` lists them"
                )
    print(f"deleted video {args.video_id}", file=sys.stderr)
    return 0
