"""``videoidx index``: index video files into the store, or price them with ``--dry-run``.

Exit codes: 0 when every video is done, 1 when some clip or video failed (a reply cut off at
the token limit included) or was skipped, 128 + N when signal N (Ctrl-C, SIGTERM) stopped it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
from typing import Any

from videoidx.cli.interrupt import exit_code, stop_on_signals
from videoidx.settings import Settings, clip_length_settings, resolve_settings
from videoidx.vocab import ENGINES, RunStatus
from videoidx.wording import count, of_total

# Exit code when the run finished but some clips or videos failed: scripts must notice.
EXIT_PARTIAL = 1


class _RegistryHelp(str):
    """A help text that lists what the indexer registry holds, read only when help is printed:
    reading the registry imports every adapter, too slow for each command's parser."""

    def __mod__(self, params: Any) -> str:
        from videoidx.catalog import indexer_choices, provider_choices

        if self == "indexer":
            names = "; ".join(f"{c.name}: {c.label}" for c in indexer_choices())
            return f"which indexer analyses clips ({names}); the first is the default"
        names = ", ".join(dict.fromkeys(p.name for p in provider_choices()))
        return f"for an indexer that offers providers, which one: {names}"


def add_provider_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by every command that talks to a model (index, ask)."""
    p.add_argument("--db", help="DuckDB file (default: db_path setting, ./videoidx.duckdb)")
    p.add_argument("--indexer", help=_RegistryHelp("indexer"))
    p.add_argument("--provider", help=_RegistryHelp("provider"))
    p.add_argument("--base-url", help="OpenAI-compatible base URL (overrides the profile's)")
    p.add_argument("--model", help="model id (overrides the profile's)")
    p.add_argument(
        "--thinking",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let the model think before answering (slower, costs more; default off)",
    )


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    flags = {
        "db_path": args.db,
        "indexer": args.indexer,
        "provider": args.provider,
        "base_url": args.base_url,
        "model": args.model,
        "thinking": args.thinking,
        **extra,
    }
    return resolve_settings(flags)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("index", help="index video files into the store")
    p.add_argument("files", nargs="+", metavar="FILE", help="video files, folders or quoted globs")
    add_provider_flags(p)
    p.add_argument("--concurrency", type=int, help="model calls at once (default 4)")
    p.add_argument(
        "--clip-seconds",
        type=float,
        help="target clip length (default 25); the shortest and longest clip scale with it",
    )
    p.add_argument("--max-cost", type=float, metavar="USD", help="stop before passing this cost")
    p.add_argument(
        "--workers", type=int, help="videos whose media work runs at once (default: one per CPU)"
    )
    p.add_argument("--engine", choices=ENGINES, help="where the work runs (default local)")
    p.add_argument("--ray-address", help="Ray cluster for --engine ray: auto, ray://head:10001")
    p.add_argument("--dry-run", action="store_true", help="print the plan and cost; call nothing")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.set_defaults(func=run)


def index_settings(args: argparse.Namespace) -> Settings:
    """The settings of an ``index`` run: the flags over the resolved settings."""
    settings = settings_from_args(
        args,
        concurrency=args.concurrency,
        max_cost_usd=args.max_cost,
        workers=args.workers,
        engine=args.engine,
        ray_address=args.ray_address,
    )
    if args.clip_seconds is None:
        return settings
    # The knob scales the configured clip shape, exactly as the page's "Clip length" does.
    return settings.replace(**clip_length_settings(args.clip_seconds, settings.media))


def run(args: argparse.Namespace) -> int:
    settings = index_settings(args)
    if args.dry_run:
        return _dry_run(args, settings)
    from videoidx.pipeline.bulk import index_many
    from videoidx.pipeline.progress import TerminalBar

    cancel = threading.Event()
    with stop_on_signals(cancel) as received:
        results = index_many(args.files, settings=settings, progress=TerminalBar(), cancel=cancel)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    else:
        for r in results:
            if not r.video_id:  # never reached a video: a missing file, an empty folder or glob
                print(f"{r.path}: {r.status}: {r.error or 'not started'}")
                continue
            print(
                f"{r.title}: {r.status}; {of_total(r.clips_done, r.clips_total, 'clip')} "
                f"({r.clips_cached} cached, {r.clips_failed} failed, {r.clips_skipped} skipped), "
                f"{count(r.events, 'event')}, "
                f"{count(r.usage.prompt_tokens + r.usage.completion_tokens, 'token')}, "
                f"${r.usage.cost_usd:.4f}; video_id {r.video_id or '-'}"
            )
            # What was not read but did not fail the video (no audio, no OCR engine), once each.
            for note in dict.fromkeys(r.notes):
                print(f"  note: {note}")
            for reason in ([r.error] if r.error else []) + r.clip_errors[:10]:
                print(f"  - {reason}", file=sys.stderr)
    if received:
        kept = sum(r.clips_done for r in results)
        print(
            f"videoidx: cancelled by {signal.Signals(received[0]).name}: "
            f"{count(kept, 'finished clip')} kept; run the same command again to index the rest",
            file=sys.stderr,
        )
        return exit_code(received[0])
    return 0 if all(r.status == RunStatus.DONE for r in results) else EXIT_PARTIAL


def _dry_run(args: argparse.Namespace, settings: Settings) -> int:
    from videoidx.catalog import default_estimates
    from videoidx.pipeline.dryrun import format_plans, plan_inputs, run_choice

    run = run_choice(settings)
    plans = plan_inputs(args.files, settings, default_estimates(settings))
    if args.json:
        print(json.dumps([_plan_json(p, run) for p in plans], indent=2))
    else:
        print(format_plans(plans, run))
    return 0 if all(p.info is not None for p in plans) else EXIT_PARTIAL


def _plan_json(plan: Any, run: Any) -> dict[str, Any]:
    """One plan as JSON: ``indexer`` is what the run would use, ``free`` whether it costs
    nothing, and each estimate says with ``this_run`` whether the run would call it."""
    return {
        "path": plan.path,
        "indexer": run.indexer,
        "free": not run.priced,
        "error": plan.error or None,
        "video_id": plan.info.video_id if plan.info else None,
        "duration_s": plan.info.duration_s if plan.info else None,
        "clips_fewest": plan.clips_fewest if plan.info else None,
        "clips_most": plan.clips_most if plan.info else None,
        "clips": [
            {
                "index": c.clip.index,
                "start_s": c.clip.start_s,
                "end_s": c.clip.end_s,
                "frames": c.frames,
                "frame_size_px": list(c.frame_size_px),
            }
            for c in plan.clips
        ],
        "estimates": [{**dataclasses.asdict(e), "this_run": run.uses(e)} for e in plan.estimates],
        "speech": _speech_json(plan),
        "embeddings": _embeddings_json(plan),
    }


def _embeddings_json(plan: Any) -> dict[str, Any] | None:
    """The plan's embedding estimate (None: embeddings off)."""
    if plan.embeddings is None or plan.info is None:
        return None
    return {**dataclasses.asdict(plan.embeddings), "free": plan.embeddings.cost_usd == 0}


def _speech_json(plan: Any) -> dict[str, Any] | None:
    """The plan's speech estimate (None: speech off); ``audio_s`` is 0 without audio."""
    if plan.speech is None or plan.info is None:
        return None
    return {**dataclasses.asdict(plan.speech), "free": plan.speech.cost_usd == 0}
