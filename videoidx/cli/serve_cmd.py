"""``videoidx serve``: the web page (upload, library, timeline, characters, causes, ask).

The password for ``--host`` beyond this machine comes best from ``--auth-file`` or
``VIDEOIDX_AUTH``: a command line (``--auth user:password``) is readable by every local user
through ``ps``, so that form still works but warns.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import Any

from videoidx.errors import ConfigError
from videoidx.settings import Settings, resolve_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="serve the web page for a library")
    add_serve_flags(p)
    p.set_defaults(func=run)


def add_serve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="DuckDB file (default: the db_path setting)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument(
        "--auth-file",
        metavar="PATH",
        help="file holding one line user:password, required to bind beyond this machine "
        "(or set VIDEOIDX_AUTH)",
    )
    p.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="the same on the command line (visible to other local users in `ps`; prefer "
        "--auth-file)",
    )


def serve_settings(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from the serve flags (None falls through to env, config file, default)."""
    flags = {"db_path": args.db, "host": args.host, "port": args.port, "auth": _auth(args)}
    return resolve_settings({**flags, **extra})


def _auth(args: argparse.Namespace) -> str | None:
    """The credentials from --auth-file or --auth (None falls through to VIDEOIDX_AUTH)."""
    from ui.safety import read_auth_file

    auth_file = getattr(args, "auth_file", None)
    if auth_file and args.auth:
        raise ConfigError("give the password once: --auth-file PATH or --auth, not both")
    if auth_file:
        mode = _mode(Path(auth_file))
        if mode is not None and mode & (stat.S_IRWXG | stat.S_IRWXO):
            _warn(f"the auth file {auth_file} is readable by other users; chmod 600 it")
        return read_auth_file(auth_file)
    if args.auth:
        _warn(
            "--auth on the command line is visible to other local users (ps); "
            "use --auth-file PATH or VIDEOIDX_AUTH instead"
        )
    return args.auth


def _mode(path: Path) -> int | None:
    try:
        return os.stat(path).st_mode
    except OSError:
        return None  # read_auth_file says why it cannot be read


def _warn(message: str) -> None:
    print(f"videoidx: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ui.server import serve

    serve(serve_settings(args))
    return 0
