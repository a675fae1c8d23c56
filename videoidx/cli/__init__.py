"""The ``videoidx`` command line: one small module per command group, wired together here.

Each command module exposes ``register(subparsers)``, which adds its sub-commands and sets
``func`` on them. ``main`` turns every :class:`~videoidx.errors.VideoIdxError` into one line on
stderr and exit code 2, so users see what failed and what to do, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from videoidx.errors import VideoIdxError

# Command modules, in the order their commands are listed in --help.
COMMAND_MODULES = (
    "videoidx.cli.config_cmd",
    "videoidx.cli.index_cmd",
    "videoidx.cli.ask_cmd",
    "videoidx.cli.demo_cmd",
    "videoidx.cli.serve_cmd",
    "videoidx.cli.media_cmds",
    "videoidx.cli.store_cmds",
    "videoidx.cli.reparse_cmd",
)

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videoidx",
        description="Turn long videos into a searchable, answerable timeline.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except VideoIdxError as exc:
        print(f"videoidx: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("videoidx: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
