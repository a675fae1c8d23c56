"""The ``videoidx`` command line: one small module per command group, wired together here.

Each command module exposes ``register(subparsers)``, which adds its sub-commands and sets
``func`` on them. ``main`` turns every :class:`~videoidx.errors.VideoIdxError` into one line on
stderr and exit code 2, so users see what failed and what to do, never a traceback. A reader that
stops early (``videoidx search ... --json | head``) ends any command quietly with exit code 141
(128 + SIGPIPE, what a shell reports for a program killed by a closed pipe).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
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
    "videoidx.cli.eval_cmd",
    "videoidx.cli.reembed_cmd",
)

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


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
        sys.stdout.flush()  # a reader gone away shows here, not as noise at interpreter exit
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except VideoIdxError as exc:
        print(f"videoidx: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("videoidx: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return int(code or 0)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush of what is still buffered for
    the closed pipe does not raise again (Python's documented recipe for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file (an embedding, a test's capture)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
