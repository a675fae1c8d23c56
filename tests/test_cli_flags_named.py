"""Messages name only flags that exist: advice to pass a flag the parser rejects is worse than
none (the missing-key message once advised ``--api-key-env``, and the page repeated it).
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from videoidx.catalog import provider_choices
from videoidx.cli import build_parser

FLAG_RE = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# Flags of other programs, not of videoidx, that the code passes or its messages name: ffmpeg
# and tesseract (--version, --psm), pip
# (--no-deps: how to install the packaged embedding model without PyTorch).
OTHER_PROGRAMS = {"--version", "--psm", "--no-deps"}


def parser_flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every ``--flag`` of the parser and of all its sub-commands."""
    flags: set[str] = set()
    for action in parser._actions:
        flags.update(o for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags |= parser_flags(sub)
    return flags


def index_help() -> str:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return str(subparsers.choices["index"].format_help())


def test_the_missing_key_message_names_only_flags_of_the_index_command(
    colour_video: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from videoidx.cli import main

    keyed = next(p for p in provider_choices() if p.key_env and p.estimated_by_default)
    assert keyed.key_env is not None
    monkeypatch.setenv("VIDEOIDX_CONFIG", "/dev/null")
    monkeypatch.delenv(keyed.key_env, raising=False)
    monkeypatch.delenv("VIDEOIDX_API_KEY_ENV", raising=False)
    argv = ["index", "--db", str(tmp_path / "k.duckdb"), "--indexer", keyed.indexer]
    assert main([*argv, "--provider", keyed.name, str(colour_video)]) == 2
    message = capsys.readouterr().err
    assert keyed.key_env in message and "VIDEOIDX_API_KEY_ENV" in message, message
    named = set(FLAG_RE.findall(message))
    help_text = index_help()
    assert {f for f in named if not re.search(rf"{f}\b", help_text)} == set(), message
    # The page shows the same words: it asks the indexer through videoidx.check_ready.
    import videoidx

    settings = videoidx.resolve_settings(
        {"indexer": keyed.indexer, "provider": keyed.name}, env={}, config_path="/dev/null"
    )
    with pytest.raises(videoidx.MissingKeyError) as raised:
        videoidx.check_ready(settings)
    assert str(raised.value) in message


def test_no_string_in_the_code_names_a_flag_the_cli_does_not_have() -> None:
    """The same class of mistake anywhere: every ``--flag`` in a string of the package, the
    adapters or the page (CSS custom properties aside) is one the CLI accepts."""
    flags = parser_flags(build_parser()) | OTHER_PROGRAMS
    files = [
        p
        for folder in ("videoidx", "indexers", "ui")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if p.name != "style.py"  # CSS: --color-accent is a custom property, not a flag
    ]
    unknown = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for flag in set(FLAG_RE.findall(node.value)) - flags:
                    unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}: {flag}")
    assert unknown == []
