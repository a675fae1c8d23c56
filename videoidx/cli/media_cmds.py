"""``videoidx probe`` and ``videoidx shots``: what a video is, and where its hard cuts are."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from videoidx.media.ffmpeg_bin import ffmpeg_exe
from videoidx.media.probe import probe
from videoidx.media.scan import detect_shots
from videoidx.settings import resolve_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("probe", help="print what a video file is (duration, size, ...)")
    p.add_argument("file", help="video file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_probe)

    s = subparsers.add_parser("shots", help="detect hard cuts (shot boundaries) in a video")
    s.add_argument("file", help="video file")
    s.add_argument("--threshold", type=float, default=None, help="override shot_threshold")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=run_shots)


def run_probe(args: argparse.Namespace) -> int:
    settings = resolve_settings()
    info = probe(args.file, ffmpeg_path=ffmpeg_exe(settings))
    data = dataclasses.asdict(info)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    width = max(len(k) for k in data)
    for key, value in data.items():
        print(f"{key:<{width}}  {value}")
    return 0


def run_shots(args: argparse.Namespace) -> int:
    settings = resolve_settings({"shot_threshold": args.threshold})
    cuts = detect_shots(args.file, settings.media)
    if args.json:
        payload = {
            "file": args.file,
            "cut_times_s": [c.time_s for c in cuts],
            "cut_frames": [c.frame for c in cuts],
            "cuts": [dataclasses.asdict(c) for c in cuts],
        }
        print(json.dumps(payload, indent=2))
        return 0
    if not cuts:
        print("no hard cuts")
    for c in cuts:
        print(f"{c.time_s:10.3f} s  frame {c.frame:>7}  score {c.score:.3f}")
    return 0
