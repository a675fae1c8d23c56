"""The page and the API are one server with one job queue, seen in headless Chromium: a batch a
notebook submits through ``videoidx.Client`` shows on the Index tab; a folder on the server is
queued from the page (and one outside the allowed folders refused); and the Index tab keeps no
stale state: the "Indexing ..." line ends, a re-index does not duplicate its card, a deleted
video's card goes, finished cards can be cleared, Start is refused when no file can be indexed,
and the estimate shows no server folder.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import videoidx
from tests.browser import free_port, launch, open_tab, screenshot, wait_for_page_loaded
from ui.server import Server, serve
from videoidx.client import Client

pytestmark = [pytest.mark.browser, pytest.mark.slow]

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@dataclass
class Setup:
    server: Server
    root: Path
    notebook_videos: Path
    page_folder: Path

    def client(self) -> Client:
        assert self.server.service is not None
        return Client(self.server.api_url, token=self.server.service.token)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, small_videos: list[Path]) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("shared-page")
    notebook_videos, page_folder = root / "notebook", root / "folder"
    notebook_videos.mkdir()
    page_folder.mkdir()
    shutil.copy(small_videos[0], notebook_videos / small_videos[0].name)  # a_sunrise
    shutil.copy(small_videos[1], page_folder / small_videos[1].name)  # b_night
    settings = videoidx.resolve_settings(
        {
            "db_path": str(root / "library.duckdb"),
            "upload_dir": str(root / "uploads"),
            "port": free_port(),
            "indexer": "local",
        },
        env={},
    )
    running = serve(settings, block=False, quiet=True)
    try:
        yield Setup(running, root, notebook_videos, page_folder)
    finally:
        running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, setup: Setup) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(setup.server.url)
    wait_for_page_loaded(pg)
    open_tab(pg, "Index")
    yield pg
    context.close()


def cards(page: Any, title: str) -> Any:
    return page.locator("#jobs .vx-job", has_text=title)


def test_a_notebook_batch_shows_live_on_the_page(page: Any, setup: Setup) -> None:
    seen: list[videoidx.Progress] = []
    results: list[videoidx.VideoResult] = []

    def notebook() -> None:
        with setup.client() as client:
            results.extend(client.index_many(setup.notebook_videos, progress=seen.append))

    run = threading.Thread(target=notebook)
    run.start()
    card = cards(page, "a_sunrise")
    card.wait_for()  # shown while it runs (or just after), not only in the notebook
    page.wait_for_selector("#jobs .vx-job[data-status=done]:has-text('a_sunrise')", timeout=120_000)
    run.join(120)
    assert [r.status for r in results] == ["done"] and results[0].events > 0
    assert seen and seen[-1].stage == "done"  # the notebook's bar followed the server's events
    assert "Open timeline" in card.inner_text()
    screenshot(page, "api-1-notebook-job")


def test_a_server_folder_is_queued_from_the_page(page: Any, setup: Setup) -> None:
    page.locator("#folder textarea, #folder input").first.fill(str(setup.page_folder))
    page.click("#queue-folder")
    page.wait_for_function(
        "() => document.querySelector('#index-msg').innerText.includes('Indexing 1 video')"
    )
    page.wait_for_selector("#jobs .vx-job[data-status=done]:has-text('b_night')", timeout=120_000)
    # The line that said "Indexing ..." says how it ended, instead of staying.
    page.wait_for_function(
        "() => document.querySelector('#index-msg').innerText.includes('Finished: 1 done')"
    )
    assert "Indexing" not in page.inner_text("#index-msg")
    assert {v.title for v in setup.server.ctx.store.list_videos()} == {"a_sunrise", "b_night"}

    # Again: the new run replaces the card instead of adding a second one.
    page.click("#queue-folder")
    page.wait_for_function(
        "() => document.querySelector('#index-msg').innerText.includes('Finished: 1 done')"
    )
    page.wait_for_selector("#jobs .vx-job[data-status=done]:has-text('b_night')")
    assert cards(page, "b_night").count() == 1


def test_a_folder_outside_the_allowed_ones_is_refused(page: Any, setup: Setup) -> None:
    before = len(setup.server.ctx.jobs.snapshot())
    page.locator("#folder textarea, #folder input").first.fill("/etc")
    page.click("#queue-folder")
    page.wait_for_function(
        "() => document.querySelector('#index-msg').innerText.includes('outside the folders')"
    )
    assert len(setup.server.ctx.jobs.snapshot()) == before


def test_a_deleted_video_loses_its_card_and_finished_cards_can_be_cleared(
    page: Any, setup: Setup
) -> None:
    cards(page, "a_sunrise").wait_for()
    sunrise = next(v for v in setup.server.ctx.store.list_videos() if v.title == "a_sunrise")
    with setup.client() as client:
        client.delete(sunrise.video_id)  # from another program, while the page is open
    cards(page, "a_sunrise").wait_for(state="detached")
    assert cards(page, "b_night").count() == 1
    page.click("#clear-jobs")
    page.wait_for_function("() => !document.querySelector('#jobs .vx-job')")
    assert setup.server.ctx.jobs.snapshot() == []


def test_start_is_refused_when_no_file_can_be_indexed(page: Any, setup: Setup) -> None:
    bad_dir = setup.root / "a folder with spaces"
    bad_dir.mkdir()
    bad = bad_dir / "not a video.mp4"
    bad.write_text("this is text, not a video\n")
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    page.wait_for_function(
        "() => document.querySelector('#estimate').innerText.includes('cannot be indexed')"
    )
    estimate = page.inner_text("#estimate")
    assert "not a video.mp4" in estimate
    assert "/tmp" not in estimate and "gradio" not in estimate and "folder with" not in estimate
    before = len(setup.server.ctx.jobs.snapshot())
    page.click("#start-index")
    page.wait_for_function(
        "() => document.querySelector('#index-msg').innerText.includes('Nothing to index')"
    )
    assert len(setup.server.ctx.jobs.snapshot()) == before
    assert "/tmp" not in page.inner_text("#index-msg")
