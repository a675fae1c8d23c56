"""Benchmark: search through a running server's API and through the auto-routed CLI, against
in-process search, on one library of ``--events`` events (default 100,000), in one run.

Builds the synthetic library of ``benchmarks/search.py`` in a temp file, then:

1. in-process: ``videoidx.search`` on the open store (the baseline of the API), and the CLI
   ``videoidx search QUERY --db FILE`` as a subprocess (the baseline of the routed CLI);
2. starts ``videoidx serve`` on the file (a real subprocess on a free loopback port);
3. through the server: ``videoidx.Client.search`` (HTTP, JSON, decoding to ``SearchHit``) and
   the same CLI command, which now finds the server's record and goes through it.

    .venv/bin/python -m benchmarks.api
    .venv/bin/python -m benchmarks.api --events 20000 --queries 30 --cli-runs 5   # quick

Targets (issue 16): API median <= 30 ms over in-process; CLI through the server <= 1.5x the
in-process CLI's wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.search import Library, ingest, queries
from tests.browser import free_port
from videoidx import Store, search
from videoidx.client import Client
from videoidx.service.record import live_record

API_OVER_MS = 30.0
CLI_RATIO = 1.5


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def timed_ms(fn: object, runs: list[str]) -> list[float]:
    out = []
    for q in runs:
        t0 = time.perf_counter()
        fn(q)  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def cli_s(db: Path, query: str, env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "videoidx", "search", query, "--db", str(db), "--limit", "20"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    spent = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"videoidx search failed: {run.stderr}")
    return spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=60, help="timed queries (after 5 warm-ups)")
    ap.add_argument("--cli-runs", type=int, default=8, help="CLI runs each way (after 1 warm-up)")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOIDX_")}

    with tempfile.TemporaryDirectory(prefix="videoidx-api-bench-") as tmp:
        env["XDG_CONFIG_HOME"] = tmp
        db = Path(tmp) / "lib.duckdb"
        lib = Library(vocab_size=20_000, seed=1)
        with Store.open(db) as store:
            t0 = time.perf_counter()
            _, videos = ingest(store, lib, args.events, per_clip=10, per_video=500, batch=20_000)
            print(f"library: {args.events:,} events in {len(videos)} videos "
                  f"({time.perf_counter() - t0:.1f} s to build)")  # fmt: skip
            texts = [q for kind, q, _ in queries(store, lib, videos) if kind != "filtered"]
            rng = np.random.default_rng(3)
            runs = [texts[int(i)] for i in rng.integers(len(texts), size=args.queries + 5)]
            timed_ms(lambda q: search(store, q, limit=20), runs[:5])
            local_ms = timed_ms(lambda q: search(store, q, limit=20), runs[5:])
        cli_queries = runs[5 : 5 + args.cli_runs + 1]
        cli_s(db, cli_queries[0], env, tmp)
        local_cli = [cli_s(db, q, env, tmp) for q in cli_queries[1:]]

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "videoidx", "serve", "--db", str(db), "--port", str(port)],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 180
            while (record := live_record(db)) is None:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("videoidx serve did not come up")
                time.sleep(0.5)
            with Client(record.url, token=record.token) as client:
                timed_ms(lambda q: client.search(q, limit=20), runs[:5])
                api_ms = timed_ms(lambda q: client.search(q, limit=20), runs[5:])
            cli_s(db, cli_queries[0], env, tmp)
            routed_cli = [cli_s(db, q, env, tmp) for q in cli_queries[1:]]
        finally:
            server.terminate()
            server.wait(30)

    load = os.getloadavg()[0]
    over = statistics.median(api_ms) - statistics.median(local_ms)
    ratio = statistics.median(routed_cli) / statistics.median(local_cli)
    api_verdict = "met" if over <= API_OVER_MS else "MISSED"
    cli_verdict = "met" if ratio <= CLI_RATIO else "MISSED"
    print(f"load average (1 min) at the end: {load:.1f}")
    print(
        f"in-process search: median {statistics.median(local_ms):.1f} ms, "
        f"p95 {pct(local_ms, 95):.1f} ms ({len(local_ms)} queries)"
    )
    print(
        f"API search:        median {statistics.median(api_ms):.1f} ms, "
        f"p95 {pct(api_ms, 95):.1f} ms; median over in-process {over:.1f} ms "
        f"(target <= {API_OVER_MS:.0f} ms: {api_verdict})"
    )
    print(
        f"CLI in-process:    median {statistics.median(local_cli):.2f} s wall "
        f"({len(local_cli)} runs)"
    )
    print(
        f"CLI via server:    median {statistics.median(routed_cli):.2f} s wall; "
        f"{ratio:.2f}x (target <= {CLI_RATIO}x: {cli_verdict})"
    )


if __name__ == "__main__":
    main()
