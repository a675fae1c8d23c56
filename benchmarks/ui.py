"""Benchmark: search on the web page, from pressing Search to rendered results, in Chromium.

Builds a library of ``--events`` events (default 100,000; the synthetic vocabulary of
``benchmarks/search.py``), serves the real page on a free port, and in headless Chromium types
each query, presses Search and waits until the results table and the "N matches for <query>"
line show that query. The baseline, timed in the same process, is the bare ``videoidx.search``
call the page makes; the ratio is what the page adds (Gradio queue, JSON, rendering).

    .venv/bin/python -m benchmarks.ui
    .venv/bin/python -m benchmarks.ui --events 20000 --queries 20   # a quick check

Target (issue 6): median <= 300 ms with 100,000 events in the library.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from benchmarks.search import Library, ingest, queries
from tests.browser import free_port, launch, open_tab, wait_for_page_loaded
from ui.app import build_app
from ui.server import make_context
from videoidx import resolve_settings, search

TARGET_MEDIAN_MS = 300.0


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=40, help="timed queries (after 5 warm-ups)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="videoidx-ui-bench-") as tmp:
        settings = resolve_settings(
            {"db_path": str(Path(tmp) / "lib.duckdb"), "upload_dir": str(Path(tmp) / "up")},
            env={},
        )
        ctx = make_context(settings)
        lib = Library(vocab_size=20_000, seed=1)
        t0 = time.perf_counter()
        _, videos = ingest(ctx.store, lib, args.events, per_clip=10, per_video=500, batch=20_000)
        print(f"library: {args.events:,} events in {len(videos)} videos "
              f"({time.perf_counter() - t0:.1f} s to build)")  # fmt: skip
        texts = [q for kind, q, _ in queries(ctx.store, lib, videos) if kind != "filtered"]
        rng = np.random.default_rng(3)
        picked = [texts[int(i)] for i in rng.integers(len(texts), size=args.queries + 5)]
        # Each query once with a suffix the page echoes, so every wait sees a fresh render.
        runs = [(q, f"{q} n{i}") for i, q in enumerate(picked)]

        blocks = build_app(ctx)
        blocks.queue(default_concurrency_limit=8)
        port = free_port()
        blocks.launch(server_port=port, prevent_thread_lock=True, quiet=True)
        page_ms: list[float] = []
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            wait_for_page_loaded(page)
            open_tab(page, "Timeline")
            page.locator("#search-scope").get_by_text("Whole library").click()
            box = page.locator("#search-box textarea, #search-box input").first
            for i, (_, shown) in enumerate(runs):
                box.fill(shown)
                started = time.perf_counter()
                page.click("#search-btn")
                try:
                    page.wait_for_function(
                        """(q) => {
                        const info = document.querySelector('#search-info');
                        return info && info.innerText.includes(q) &&
                               !!document.querySelector("#search-results [data-testid='cell-0-0']");
                    }""",
                        arg=shown,
                        polling=5,
                        timeout=10_000,
                    )
                except Exception:
                    print("stuck on", repr(shown), "info:", page.inner_text("#search-info"))
                    raise
                if i >= 5:
                    page_ms.append(1000 * (time.perf_counter() - started))
            browser.close()
        blocks.close()

        bare_ms = []
        for _, shown in runs[5:]:
            t = time.perf_counter()
            search(ctx.store, shown, limit=50)
            bare_ms.append(1000 * (time.perf_counter() - t))
        ctx.jobs.close()
        ctx.store.close()

    med = statistics.median(page_ms)
    print(f"page, press to rendered ({len(page_ms)} queries): median {med:.0f} ms, "
          f"p95 {pct(page_ms, 95):.0f} ms, max {max(page_ms):.0f} ms")  # fmt: skip
    print(f"bare videoidx.search (baseline): median {statistics.median(bare_ms):.1f} ms, "
          f"p95 {pct(bare_ms, 95):.1f} ms")  # fmt: skip
    print(f"ratio page / bare search (median): {med / statistics.median(bare_ms):.1f}x")
    verdict = "met" if med <= TARGET_MEDIAN_MS else "MISSED"
    print(f"target median <= {TARGET_MEDIAN_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
