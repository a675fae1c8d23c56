"""Pipeline benchmark: concurrency against a slow provider, cost per hour, and recall.

Runs ``index_video`` with the GLM adapter against the fake provider server (tests/fake_provider.py)
answering every request after a fixed latency (default 2 s), like a model that takes its time:

* **wall vs floor** at concurrency 8, and the speed-up over concurrency 1, on the 10-minute 720p
  benchmark file (``benchmarks/media_data.py`` makes it). The floor is the larger of two bounds
  no scheduler can beat: all clip calls in rounds of ``concurrency`` after the first clip's frames
  exist, plus consolidation's one round of text calls; and the probe and whole media pass followed
  by the last clip's call and that consolidation round. Both modes of sampling run:
  ``full`` (every frame decoded, shots detected) and ``keyframes`` (codec keyframes only).
* **tokens and cost**: prompt tokens per minute of video and cost per hour at Z.AI's prices with
  default settings, and **recall**: on a 10-minute 720p video of solid-colour segments (where the
  fake's answers are exact), the share of true colour changes that come back as an event start
  within one sampling interval.

    .venv/bin/python benchmarks/pipeline.py [--latency-s 2] [--skip-timing] [--file F]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.media_data import ten_minute_720p  # noqa: E402
from indexers.glm import GlmIndexer  # noqa: E402
from tests.fake_provider import FakeProvider  # noqa: E402
from videoidx.media.probe import probe  # noqa: E402
from videoidx.media.scan import Scan  # noqa: E402
from videoidx.media.synth import COLOURS_RGB, Segment, make_video, segment_starts_s  # noqa: E402
from videoidx.pipeline.run import VideoResult, index_video  # noqa: E402
from videoidx.settings import Settings, resolve_settings  # noqa: E402
from videoidx.store import Store  # noqa: E402

KEY = "bench-key-0123456789"


def settings_for(server: FakeProvider, db: Path, **flags: object) -> Settings:
    return resolve_settings(
        {
            "db_path": str(db),
            "indexer": "glm",
            "provider": "zai",
            "base_url": server.base_url,
            "model": server.model,
            **flags,
        },
        env={},
        config_path=os.devnull,
    )


def run(server: FakeProvider, video: Path, **flags: object) -> tuple[VideoResult, float]:
    with tempfile.TemporaryDirectory() as tmp:
        s = settings_for(server, Path(tmp) / "b.duckdb", **flags)
        indexer = GlmIndexer(s, env={"ZAI_API_KEY": KEY})
        started = time.perf_counter()
        result = index_video(video, settings=s, indexer=indexer)
        return result, time.perf_counter() - started


def media_pass(video: Path, settings: Settings) -> tuple[float, float, int]:
    """Seconds for probe and the whole media pass, seconds until the first clip's frames (both
    counted from the start of the probe), and the clip count."""
    started = time.perf_counter()
    info = probe(video)
    first = None
    clips = 0
    for _clip, _frames in Scan(info, settings.media):
        clips += 1
        if first is None:
            first = time.perf_counter() - started
    return time.perf_counter() - started, first or 0.0, clips


def timing(video: Path, latency_s: float) -> None:
    print(f"file: {video.name}, provider latency {latency_s:.1f} s")
    for mode in ("full", "keyframes"):
        with FakeProvider("zai", api_key=KEY, latency_s=latency_s) as server:
            probe_s = settings_for(server, Path("unused"), sample_mode=mode)
            media_s, first_s, clips = media_pass(video, probe_s)
            walls = {}
            for conc in (1, 8):
                result, wall = run(server, video, sample_mode=mode, concurrency=conc)
                assert result.status == "done", result
                walls[conc] = wall
            u, minutes = result.usage, result.duration_s / 60
            # Clip calls in rounds of 8, then one round for consolidation's two parallel calls.
            calls = -(-clips // 8) * latency_s + latency_s
            floor = max(first_s + calls, media_s + 2 * latency_s)
            print(
                f"  {mode:<9} clips {clips:>3}  media pass {media_s:6.1f} s "
                f"(first clip {first_s:4.1f} s)\n"
                f"            concurrency 1: {walls[1]:6.1f} s   concurrency 8: {walls[8]:6.1f} s"
                f"   floor@8 {floor:6.1f} s\n"
                f"            wall/floor @8 = {walls[8] / floor:.2f}x (target <= 1.2x)   "
                f"speed-up 8 vs 1 = {walls[1] / walls[8]:.2f}x (target >= 6x)\n"
                f"            {u.prompt_tokens / minutes:,.0f} prompt + "
                f"{u.completion_tokens / minutes:,.0f} completion tokens per minute; "
                f"${u.cost_usd / (minutes / 60):.3f} per hour at Z.AI prices"
            )


def colour_video(path: Path, minutes: float, seed: int = 7) -> tuple[Path, list[float]]:
    rng = random.Random(seed)
    names = list(COLOURS_RGB)
    segments: list[Segment] = []
    total, last = 0.0, ""
    while total < minutes * 60:
        colour = rng.choice([n for n in names if n != last])
        dur = float(rng.randint(5, 20))
        segments.append(Segment(colour, dur))
        total, last = total + dur, colour
    if not path.exists():
        make_video(path, segments, width_px=1280, height_px=720, fps=30, audio=False)
    return path, segment_starts_s(segments)[1:]


def recall_and_cost(minutes: float) -> None:
    video, truth = colour_video(ROOT / "bench-data" / f"colours_{minutes:g}min_720p.mp4", minutes)
    with FakeProvider("zai", api_key=KEY) as server, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "r.duckdb"
        s = settings_for(server, db, concurrency=8)
        result = index_video(video, settings=s, indexer=GlmIndexer(s, env={"ZAI_API_KEY": KEY}))
        with Store.open(db) as store:
            starts = [e.start_s for e in store.events(result.video_id) if "screen" in e.label]
    gap = s.media.frame_max_gap_s
    found = sum(1 for t in truth if any(abs(x - t) <= gap for x in starts))
    hours = result.duration_s / 3600
    u = result.usage
    print(
        f"recall on {video.name}: {found}/{len(truth)} colour changes = "
        f"{found / len(truth):.1%} (target >= 95%)\n"
        f"tokens: {u.prompt_tokens / (result.duration_s / 60):,.0f} prompt tokens per minute, "
        f"{u.completion_tokens / (result.duration_s / 60):,.0f} completion per minute "
        f"({result.clips_total} clips, {u.requests} requests incl. consolidation)\n"
        f"cost at Z.AI prices: ${u.cost_usd / hours:.3f} per hour of video (target <= $0.30)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-s", type=float, default=2.0)
    parser.add_argument("--file", type=Path, help="time this file instead of the 10-minute one")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--minutes", type=float, default=10.0, help="recall video length")
    args = parser.parse_args()
    if not args.skip_timing:
        timing(args.file or ten_minute_720p(), args.latency_s)
    recall_and_cost(args.minutes)


if __name__ == "__main__":
    main()
