"""``videoidx ask``: answer a question from the indexed videos, citing the moments."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from videoidx.cli.index_cmd import add_provider_flags, settings_from_args
from videoidx.errors import StoreError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ask", help="ask a question; the answer cites moments")
    p.add_argument("question", help='e.g. "why did the car stop?" or "what happened at 5:00?"')
    p.add_argument("--video", action="append", help="ask about this video id only (repeatable)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_provider_flags(p)
    p.add_argument(
        "--look-again",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="when the timeline is thin, send the best clip's frames to the model",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from videoidx.qa import ask
    from videoidx.times import clock_span
    from videoidx.wording import count

    settings = settings_from_args(args, qa_look_again=args.look_again, qa_thinking=args.thinking)
    if not Path(settings.db_path).is_file():  # say it in the CLI's words (ask() names settings)
        raise StoreError(f"no store at {settings.db_path}; index a video first or pass --db PATH")
    answer = ask(args.question, settings=settings, video_ids=args.video)
    if args.json:
        print(json.dumps(dataclasses.asdict(answer), ensure_ascii=False, indent=1))
        return 0
    print(answer.text)
    if answer.citations:
        print()
    for c in answer.citations:
        print(f"[{c.n}] {c.title} {clock_span(c.start_s, c.end_s)} ({c.video_id})")
    notes: list[str] = [answer.mode]
    if answer.model:
        u = answer.usage
        tokens = count(u.prompt_tokens + u.completion_tokens, "token")
        notes.append(f"{answer.model}, {tokens}, ${u.cost_usd:.4f}")
    if answer.dropped_citations:
        notes.append(f"{count(answer.dropped_citations, 'invented citation')} dropped")
    if answer.filters:
        notes.append(f"time: {answer.filters}")
    print(f"\n({'; '.join(notes)})")
    return 0
