"""A video that needs a browser copy never blocks the page (issue 17, item 2).

An H.264 video in MKV needs its copy (a remux); the copy is held back by a gate, as a slow copy
on a busy machine would be. While it is being made, a fresh page load must settle promptly, the
job card and the Timeline must say the copy is being prepared, and the timeline must work; once
the copy exists, the player appears by itself at the moment last clicked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import (
    cell,
    free_port,
    launch,
    open_tab,
    wait_for_page_loaded,
    wait_for_player_at,
)
from ui.render import PREPARING_COPY
from ui.server import Server, serve
from videoidx import resolve_settings
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.synth import Segment, make_video

pytestmark = [pytest.mark.browser, pytest.mark.slow]

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

PROMPT_LOAD_S = 10.0  # a loaded machine; the bug made a page load wait for the whole copy
GATE_S = 90.0


@pytest.fixture(scope="module")
def gate() -> threading.Event:
    return threading.Event()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, gate: threading.Event) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("copy")
    made = make_video(
        root / "made.mp4",
        [Segment("red", 3.0), Segment("blue", 3.0, pattern=True), Segment("green", 3.0)],
    )
    mkv = root / "in_a_box.mkv"
    run_ffmpeg(["-y", "-loglevel", "error", "-i", str(made), "-c", "copy", str(mkv)], what="mkv")
    settings = resolve_settings(
        {
            "db_path": str(root / "library.duckdb"),
            "upload_dir": str(root / "uploads"),
            "port": free_port(),
            "indexer": "local",
        },
        env={},
    )
    running = serve(settings, block=False, quiet=True)
    player = running.ctx.player
    real_make = player._make_copy

    def slow_make(*args: Any) -> None:
        gate.wait(GATE_S)
        real_make(*args)

    player._make_copy = slow_make  # type: ignore[method-assign]
    running.ctx.jobs.submit([mkv], running.ctx.settings)
    assert running.ctx.jobs.wait_idle(120), "indexing waited for the browser copy"
    yield running
    gate.set()
    running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def test_the_page_works_while_the_copy_is_made(
    browser: Any, server: Server, gate: threading.Event
) -> None:
    (video,) = server.ctx.store.list_videos()
    info = server.ctx.store.video(video.video_id)
    assert info is not None and server.ctx.player.state(info) == "preparing"

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    started = time.monotonic()
    page.goto(server.url)
    page.wait_for_selector("body[data-vx-loaded]", state="attached", timeout=60_000)
    load_s = time.monotonic() - started
    assert load_s < PROMPT_LOAD_S, f"the page took {load_s:.1f} s to load during a copy"
    wait_for_page_loaded(page)

    # The Timeline opened the video: its note says the copy is coming, its timeline works.
    assert "Preparing the browser copy" in page.inner_text("#player-note")
    page.wait_for_selector("#timeline-viz .vx-bar")
    assert page.locator("#player video").count() == 0
    events = server.ctx.store.events(video.video_id)
    late = max(range(len(events)), key=lambda i: events[i].start_s)
    assert events[late].start_s >= 2.0
    cell(page, "event-list", late, 2).click()
    page.wait_for_function(
        "(t) => document.querySelector('#selected').innerText.length > 0", arg=None
    )

    # The job card says so too.
    open_tab(page, "Index")
    card = page.locator("#jobs [data-status=done]").first
    assert PREPARING_COPY in card.inner_text()

    # The copy finishes: the player appears by itself, at the event last clicked.
    gate.set()
    assert server.ctx.player.wait(info, 60) == "ready"
    open_tab(page, "Timeline")
    page.wait_for_selector("#player video", timeout=30_000)
    wait_for_player_at(page, events[late].start_s)
    page.wait_for_function(
        "() => !document.querySelector('#player-note').innerText.includes('Preparing')"
    )
    open_tab(page, "Index")
    page.wait_for_function(
        "(p) => !document.querySelector('#jobs').innerText.includes(p)", arg=PREPARING_COPY
    )
    context.close()
