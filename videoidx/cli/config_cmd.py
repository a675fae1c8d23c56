"""``videoidx config``: print the resolved settings, where API keys would come from, and whether
on-screen text will be read and texts embedded for semantic search (by which engine, or why
not)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from videoidx.settings import Settings, default_config_path, resolve_settings

# Environment variables the known providers read their keys from; shown set/unset, never the value.
KEY_VARIABLES = ("ZAI_API_KEY", "OPENROUTER_API_KEY", "SILICONFLOW_API_KEY", "OPENAI_API_KEY")


def mask(value: str) -> str:
    """Show that a secret is set without showing it."""
    return "set (" + "*" * 4 + value[-2:] + ")" if len(value) > 8 else "set"


def ocr_state(settings: Settings) -> dict[str, Any]:
    """What ``ocr_engine`` gives on this machine: on with which engine, or off and why."""
    from indexers.text import text_reader_status

    status = text_reader_status(settings)
    return {
        "on": status.on,
        "engine": status.engine or None,
        "version": status.version or None,
        "reason": status.reason or None,
        "describe": status.describe(),
    }


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("config", help="print the resolved settings (keys masked)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = resolve_settings()
    flat = settings.flat()
    if flat.get("auth"):
        flat["auth"] = mask(str(flat["auth"]))
    keys = {
        name: (mask(os.environ[name]) if os.environ.get(name) else "not set")
        for name in KEY_VARIABLES
    }
    path = default_config_path()
    ocr = ocr_state(settings)
    from indexers import embedder_status

    semantic = embedder_status(settings).describe()
    if args.json:
        print(
            json.dumps(
                {
                    "config_file": str(path) if path else None,
                    "settings": flat,
                    "api_keys": keys,
                    "on_screen_text": ocr,
                    "semantic_search": semantic,
                },
                indent=2,
            )
        )
        return 0
    print(f"config file: {path or '(none)'}")
    width = max(len(k) for k in flat)
    for name, value in flat.items():
        print(f"  {name:<{width}}  {value}")
    print("api keys:")
    for name, state in keys.items():
        print(f"  {name:<{width}}  {state}")
    print(f"on-screen text: {ocr['describe']}")
    print(f"semantic search: {semantic}")
    return 0
