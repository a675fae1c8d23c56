"""Bulk benchmark: ``index_many`` against a plain loop over ``index_video``, and Ray against local.

Twenty short generated videos (45 s, 640x360, coloured segments with hard cuts) are indexed with
the GLM adapter against the fake provider server (tests/fake_provider.py) answering every request
after a fixed latency (default 2 s), each run into a fresh store, with the same settings
(``concurrency`` 8):

* **sequential**: ``for path in paths: index_video(path, ...)``, one video after another (each
  video's own clips still run concurrently, as ``index_video`` does);
* **local**: ``index_many(paths, engine="local")``: media work in worker processes, the calls of
  all videos under one shared limit;
* **ray**: ``index_many(paths, engine="ray")`` on a local Ray started first (its start-up is
  timed apart and reported).

The floor is every model call in rounds of ``concurrency``: no scheduler can beat it.

    .venv/bin/python benchmarks/bulk.py [--videos 20] [--latency-s 2] [--concurrency 8] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline import KEY, settings_for  # noqa: E402
from indexers.glm import GlmIndexer  # noqa: E402
from tests.fake_provider import FakeProvider  # noqa: E402
from videoidx.media.synth import COLOURS_RGB, Segment, make_video  # noqa: E402
from videoidx.pipeline.bulk import index_many  # noqa: E402
from videoidx.pipeline.run import VideoResult, index_video  # noqa: E402
from videoidx.settings import Settings  # noqa: E402

VIDEO_S = 45.0


def short_videos(count: int) -> list[Path]:
    """``count`` 45 s videos of random coloured segments, cached in bench-data/."""
    folder = ROOT / "bench-data" / "bulk"
    paths = []
    for i in range(count):
        path = folder / f"short_{i:02d}.mp4"
        if not path.exists():
            rng = random.Random(i)
            segments, total = [], 0.0
            while total < VIDEO_S:
                seconds = min(float(rng.randint(4, 12)), VIDEO_S - total)
                segments.append(Segment(rng.choice(list(COLOURS_RGB)), seconds))
                total += seconds
            make_video(path, segments, width_px=640, height_px=360, audio=False)
        paths.append(path)
    return paths


def sequential(paths: list[Path], settings: Settings) -> list[VideoResult]:
    indexer = GlmIndexer(settings, env={"ZAI_API_KEY": KEY})
    try:
        return [index_video(p, settings=settings, indexer=indexer) for p in paths]
    finally:
        indexer.close()


def timed(
    name: str,
    run: Callable[[list[Path], Settings], list[VideoResult]],
    paths: list[Path],
    latency_s: float,
    concurrency: int,
) -> float:
    with FakeProvider("zai", api_key=KEY, latency_s=latency_s) as server:
        with tempfile.TemporaryDirectory() as tmp:
            settings = settings_for(server, Path(tmp) / "b.duckdb", concurrency=concurrency)
            started = time.perf_counter()
            results = run(paths, settings)
            wall = time.perf_counter() - started
        assert all(r.status == "done" for r in results), [r for r in results if r.status != "done"]
        calls = len(server.requests)
        floor = -(-calls // concurrency) * latency_s
        print(
            f"  {name:<10} {wall:6.1f} s   {sum(r.clips_total for r in results)} clips, "
            f"{calls} requests (clips + consolidation), at most {server.max_active} at once; "
            f"floor {floor:.1f} s, wall/floor {wall / floor:.2f}x",
            flush=True,
        )
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--latency-s", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    os.environ["ZAI_API_KEY"] = KEY  # index_many builds its indexer from the environment
    paths = short_videos(args.videos)
    print(
        f"{len(paths)} videos of {VIDEO_S:.0f} s, provider latency {args.latency_s:.1f} s, "
        f"concurrency {args.concurrency}, {os.cpu_count()} CPUs"
    )
    c, lat = args.concurrency, args.latency_s
    seq = timed("sequential", sequential, paths, lat, c)
    local = timed("local", lambda p, s: index_many(p, settings=s, engine="local"), paths, lat, c)
    print(f"  local engine vs sequential loop: {seq / local:.2f}x faster (target >= 4x)")
    if args.no_ray:
        return
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    started = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False)
    print(f"  ray.init (local Ray, {os.cpu_count()} CPUs): {time.perf_counter() - started:.1f} s")
    try:
        on_ray = timed("ray", lambda p, s: index_many(p, settings=s, engine="ray"), paths, lat, c)
    finally:
        ray.shutdown()
    print(
        f"  ray vs local on one machine: {on_ray / local:.2f}x the wall time "
        f"({on_ray - local:+.1f} s), not counting ray.init"
    )


if __name__ == "__main__":
    main()
