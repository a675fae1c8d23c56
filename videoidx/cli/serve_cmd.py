"""``videoidx serve``: the web page (upload, library, timeline, characters, causes, ask)."""

from __future__ import annotations

import argparse
from typing import Any

from videoidx.settings import Settings, resolve_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="serve the web page for a library")
    add_serve_flags(p)
    p.set_defaults(func=run)


def add_serve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="DuckDB file (default: the db_path setting)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--auth", help="user:password, required to bind beyond this machine")


def serve_settings(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from the serve flags (None falls through to env, config file, default)."""
    flags = {"db_path": args.db, "host": args.host, "port": args.port, "auth": args.auth}
    return resolve_settings({**flags, **extra})


def run(args: argparse.Namespace) -> int:
    from ui.server import serve

    serve(serve_settings(args))
    return 0
