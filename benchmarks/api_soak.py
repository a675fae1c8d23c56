"""Soak run: a notebook batch, a second client searching every second, one served library.

Starts a real ``videoidx serve`` on a temp library, then for ``--minutes`` (default 10):
a "notebook" thread runs ``videoidx.index_many`` on the library path (which routes through the
server) over ``--videos`` generated videos, again and again; a second client searches every
second and lists the videos; and the page is open in headless Chromium (Index tab), checked
every few seconds for the jobs it shows and reloaded every minute as a new visitor. Counted: lock
errors and any other error on any side (the page's own script errors included), and for every
video the notebook saw finish, how long until the searching client's results held it (target:
within one clip's time, ``clip_target_s``, of finishing).

    .venv/bin/python -m benchmarks.api_soak
    .venv/bin/python -m benchmarks.api_soak --minutes 2 --videos 4   # a quick check

``--no-page`` leaves Chromium out (on a machine without ``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import videoidx
from tests.browser import free_port
from videoidx.client import Client
from videoidx.media.synth import Segment, make_video
from videoidx.service.record import live_record

CLIP_LENGTHS_S = (2.0, 3.0, 4.0)
"""The notebook re-indexes with each in turn, so every batch is a new run, not the cache."""
COLOURS = ("red", "green", "blue", "orange", "purple", "white", "black", "yellow")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--no-page", action="store_true", help="no Chromium on the page")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOIDX_")}
    env["VIDEOIDX_INDEXER"] = "local"

    with tempfile.TemporaryDirectory(prefix="videoidx-soak-") as tmp:
        root = Path(tmp)
        env["XDG_CONFIG_HOME"] = tmp
        folder = root / "videos"
        folder.mkdir()
        for i in range(args.videos):
            a, b = COLOURS[i % len(COLOURS)], COLOURS[(i + 3) % len(COLOURS)]
            make_video(folder / f"v{i:02d}.mp4", (Segment(a, 2.0), Segment(b, 2.0, pattern=True)))
        db = root / "library.duckdb"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "videoidx",
                "serve",
                "--db",
                str(db),
                "--port",
                str(free_port()),
            ],
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
            report = soak(db, folder, record.url, record.token, args.minutes, not args.no_page)
        finally:
            server.terminate()
            server.wait(30)
    print(report)


PAGE_CHECK_S = 5.0
PAGE_RELOAD_S = 60.0


def soak(db: Path, folder: Path, url: str, token: str, minutes: float, page: bool) -> str:
    stop = threading.Event()
    errors: list[str] = []
    page_stats = {"loads": 0, "checks": 0, "checks_with_jobs": 0}
    finished: dict[str, float] = {}  # video_id -> when the notebook heard it finish
    found: dict[str, float] = {}  # video_id -> when the searching client first saw it
    searches = 0
    batches = 0
    settings = videoidx.resolve_settings({"db_path": str(db), "indexer": "local"}, env={})

    def notebook() -> None:
        nonlocal batches
        while not stop.is_set():
            try:
                videoidx.index_many(
                    folder,
                    # Another clip length each time: a new run, not the cache.
                    settings=settings.replace(
                        **videoidx.clip_length_settings(
                            CLIP_LENGTHS_S[batches % len(CLIP_LENGTHS_S)], settings.media
                        )
                    ),
                    on_result=lambda r: finished.setdefault(r.video_id, time.monotonic()),
                )
                batches += 1
            except Exception as exc:  # counted, and the soak goes on
                errors.append(f"notebook: {type(exc).__name__}: {exc}")

    def searcher() -> None:
        nonlocal searches
        with Client(url, token=token) as client:
            while not stop.is_set():
                try:
                    now = time.monotonic()
                    for hit in client.search("", limit=1000):
                        found.setdefault(hit.video_id, now)
                    client.videos()
                    searches += 1
                except Exception as exc:
                    errors.append(f"searcher: {type(exc).__name__}: {exc}")
                stop.wait(1.0)

    def page_watcher() -> None:
        # Playwright's sync API belongs to the thread that started it: all of it lives here.
        from playwright.sync_api import sync_playwright

        from tests.browser import CHROMIUM, launch, open_tab, wait_for_page_loaded

        if not CHROMIUM.exists():  # launch() would skip a test; here it is an error to count
            errors.append(f"page: {CHROMIUM} is missing; run with --no-page")
            return
        page_url = url.removesuffix("/api/v1")
        with sync_playwright() as p:
            browser = launch(p)
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                pg = context.new_page()
                pg.set_default_timeout(60_000)
                pg.on("pageerror", lambda exc: errors.append(f"page script: {exc}"))
                loaded_at = 0.0
                while not stop.is_set():
                    try:
                        if time.monotonic() - loaded_at > PAGE_RELOAD_S:
                            pg.goto(page_url)
                            wait_for_page_loaded(pg)
                            open_tab(pg, "Index")
                            loaded_at = time.monotonic()
                            page_stats["loads"] += 1
                        page_stats["checks"] += 1
                        if pg.locator("#jobs .vx-job").count() > 0:
                            page_stats["checks_with_jobs"] += 1
                    except Exception as exc:
                        errors.append(f"page: {type(exc).__name__}: {str(exc)[:200]}")
                        loaded_at = 0.0
                    stop.wait(PAGE_CHECK_S)
            finally:
                browser.close()

    threads = [threading.Thread(target=notebook), threading.Thread(target=searcher)]
    if page:
        threads.append(threading.Thread(target=page_watcher))
    for t in threads:
        t.start()
    stop.wait(minutes * 60)
    stop.set()
    for t in threads:
        t.join(300)
    clip_s = max(CLIP_LENGTHS_S)
    lags = [max(0.0, found[v] - t) for v, t in finished.items() if v in found]
    missing = [v for v in finished if v not in found]
    locks = [e for e in errors if "lock" in e.lower()]
    lines = [
        f"soak: {minutes:g} min, load average (1 min) at the end {os.getloadavg()[0]:.1f}",
        f"notebook batches finished: {batches}; videos seen finishing: {len(finished)}",
        f"searches: {searches}; errors: {len(errors)} (lock errors: {len(locks)})",
    ]
    if page:
        lines.append(
            f"page in Chromium: {page_stats['loads']} loads, {page_stats['checks']} checks, "
            f"{page_stats['checks_with_jobs']} of them showing the notebook's jobs"
        )
    if lags:
        lines.append(
            f"finish -> searchable: median {statistics.median(lags):.2f} s, max {max(lags):.2f} s"
            f" (target: within one clip, {clip_s:g} s: "
            f"{'met' if max(lags) <= clip_s and not missing else 'MISSED'})"
        )
    lines += [f"  never seen by the searcher: {v}" for v in missing]
    lines += [f"  {e}" for e in errors[:10]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
