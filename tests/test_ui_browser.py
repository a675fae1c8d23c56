"""The web page end to end in headless Chromium: upload, index, search, seek, ask, browse.

One server per module (start-up costs seconds). Each step asserts what a person would see: the
job card reaching ``done``, a hit's row, and above all the player's ``currentTime`` landing on the
start of whatever was clicked. Screenshots of every tab go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (
    cell,
    chromium,
    open_page,
    open_tab,
    page_settings,
    player_time_s,
    screenshot,
    wait_for_page_loaded,
    wait_for_player_at,
)
from tests.conftest import MEDIA_DIR
from ui.server import Server, serve
from videoidx import search
from videoidx.media.synth import Segment, make_video
from videoidx.times import parse_seconds

pytestmark = [pytest.mark.browser, pytest.mark.slow]

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = serve(page_settings(tmp_path_factory.mktemp("page")), block=False, quiet=True)
    yield running
    running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    with open_page(browser, server.url) as pg:
        yield pg


@pytest.fixture(scope="module")
def upload_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real video from ../shared/media when present (shot cuts, real motion), else a made one."""
    real = MEDIA_DIR / "skv_bikes.mp4"
    if real.is_file():
        return real
    segs = [Segment("red", 3.0), Segment("blue", 3.0, pattern=True), Segment("green", 3.0)]
    return make_video(tmp_path_factory.mktemp("up") / "made.mp4", segs)


def test_upload_index_search_and_seek(page: Any, server: Server, upload_video: Path) -> None:
    open_tab(page, "Index")
    page.locator("#upload input[type=file]").set_input_files(str(upload_video))
    page.wait_for_function("() => document.querySelector('#estimate').innerText.includes('clips')")
    assert "no cost" in page.inner_text("#estimate")
    page.click("#start-index")
    page.wait_for_selector("#jobs [data-status=done]", timeout=120_000)
    facts = page.inner_text("#jobs [data-status=done] .vx-job-facts")
    assert "events" in facts and "clips" in facts
    screenshot(page, "1-index")

    # The finished job's card opens its timeline.
    page.click("#jobs [data-status=done]")
    page.wait_for_selector("#timeline-viz .vx-bar")
    page.wait_for_selector("#player video")
    video_id = server.ctx.store.list_videos()[0].video_id

    # Search, click the second hit, and the player is at that hit's start.
    hits = search(server.ctx.store, "shot", video_ids=[video_id], limit=50)
    assert len(hits) >= 2
    page.locator("#search-box textarea, #search-box input").first.fill("shot")
    page.click("#search-btn")
    cell(page, "search-results", 1, 2).wait_for()
    assert "match" in page.inner_text("#search-info")
    cell(page, "search-results", 1, 2).click()
    wait_for_player_at(page, hits[1].start_s)
    assert hits[1].description[:30] in page.inner_text("#selected")

    # A bar on the visual timeline seeks too, and is highlighted.
    bar = page.locator("#timeline-viz .vx-bar").nth(2)
    bar_start_s = float(bar.get_attribute("data-start") or "nan")
    bar.click()
    wait_for_player_at(page, bar_start_s)
    assert "vx-sel" in (
        page.locator("#timeline-viz .vx-bar.vx-sel").first.get_attribute("class") or ""
    )

    # A row of the event list seeks to its event.
    events = server.ctx.store.events(video_id)
    cell(page, "event-list", 3, 2).click()
    wait_for_player_at(page, events[3].start_s)
    screenshot(page, "3-timeline")

    open_tab(page, "Library")
    cell(page, "library", 0, 0).wait_for()
    assert upload_video.stem in page.inner_text("#library")
    screenshot(page, "2-library")
    open_tab(page, "Characters")
    assert "GLM-4.5V" in page.inner_text("#characters")  # offline: a helpful empty state
    screenshot(page, "4-characters")
    open_tab(page, "Causes")
    screenshot(page, "5-causes")


def test_ask_and_click_a_citation(page: Any, server: Server, upload_video: Path) -> None:
    if not server.ctx.store.list_videos():
        pytest.skip("needs the video indexed by the upload test")
    ask_the_library(page, "when is there a shot change?")
    assert "Retrieved" in page.inner_text("#chat")
    assert "when is there a shot change?" in page.inner_text("#chat")
    answer = server.ctx.store.questions(limit=1)[0]
    assert answer["question"] == "when is there a shot change?"
    screenshot(page, "6-ask")
    follow_first_citation(page)
    page.wait_for_selector("#tab-timeline", state="visible")


def ask_the_library(page: Any, question: str) -> None:
    """Ask about the whole library on the Ask tab and wait for the answer's citations."""
    open_tab(page, "Ask")
    page.locator("#ask-scope").get_by_text("Whole library").click()
    page.locator("#ask-box textarea, #ask-box input").first.fill(question)
    page.click("#ask-btn")
    cell(page, "citations", 0, 0).wait_for(timeout=30_000)


def follow_first_citation(page: Any) -> None:
    """Click the first citation; citations show whole seconds (tenths for a span under a
    second), so the player must land within the second it shows."""
    first = cell(page, "citations", 0, 1)
    start_whole_s = int(parse_seconds(first.inner_text().split("–")[0]))
    first.click()
    page.wait_for_function(
        """(t) => { const v = document.querySelector('#player video');
                    return !!v && v.currentTime >= t && v.currentTime < t + 1; }""",
        arg=start_whole_s,
    )
    assert start_whole_s <= player_time_s(page) < start_whole_s + 1


def slow_model_and_video(
    fake_provider: Any, monkeypatch: pytest.MonkeyPatch, path: Path, segment_s: float = 20.0
) -> tuple[Any, Path]:
    """A fake Z.AI answering in 1 s (its key set) and a four-colour video to keep it busy."""
    provider = fake_provider("zai", latency_s=1.0)
    monkeypatch.setenv("ZAI_API_KEY", provider.api_key)
    colours = ("red", "blue", "green", "yellow")
    return provider, make_video(path, [Segment(c, segment_s) for c in colours])


def allow_base_url(server: Server, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """What an operator does to let visitors use a self-hosted server: allow its base URL."""
    monkeypatch.setattr(server.ctx, "settings", server.ctx.settings.replace(allowed_base_urls=url))


def test_a_second_visitor_searches_while_a_video_indexes(
    browser: Any,
    server: Server,
    tmp_path: Path,
    fake_provider: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A slow model (1 s a clip, one at a time) keeps this job running for several seconds.
    provider, long_video = slow_model_and_video(fake_provider, monkeypatch, tmp_path / "long.mp4")
    allow_base_url(server, monkeypatch, provider.base_url)
    slow = server.ctx.settings.replace(
        indexer="glm", provider="zai", base_url=provider.base_url, concurrency=1,
        clip_target_s=10.0, clip_min_s=8.0,
    )  # fmt: skip
    (job,) = server.ctx.jobs.submit([long_video], slow)
    try:
        with open_page(browser, server.url) as other:
            open_tab(other, "Timeline")
            other.locator("#search-scope").get_by_text("Whole library").click()
            other.locator("#search-box textarea, #search-box input").first.fill("moving")
            other.click("#search-btn")
            other.wait_for_function(
                "() => document.querySelector('#search-info').innerText.includes('match')"
            )
            running = next(j for j in server.ctx.jobs.snapshot() if j.job_id == job.job_id)
            assert running.status in {"queued", "running"}, "the job ended before the search"
            assert "match" in other.inner_text("#search-info")
            open_tab(other, "Index")
            assert provider.api_key not in other.content()  # the key in use is never on the page
    finally:
        server.ctx.jobs.cancel([job.job_id])
        assert server.ctx.jobs.wait_idle(60)


def test_characters_and_causes_seek_the_player(
    page: Any,
    server: Server,
    colour_video: Path,
    fake_provider: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fake model names the moving test pattern as a character and links each colour change.
    provider = fake_provider("zai")
    monkeypatch.setenv("ZAI_API_KEY", provider.api_key)
    allow_base_url(server, monkeypatch, provider.base_url)
    model = server.ctx.settings.replace(indexer="glm", provider="zai", base_url=provider.base_url)
    (job,) = server.ctx.jobs.submit([colour_video], model)
    assert server.ctx.jobs.wait_idle(120)
    open_tab(page, "Index")
    card = page.locator(f"#jobs [data-status=done]:has-text('{colour_video.stem}')")
    card.click()
    page.wait_for_selector("#timeline-viz .vx-bar")

    open_tab(page, "Characters")
    person = page.locator("#characters .vx-card").first
    assert "moving test pattern" in person.inner_text()
    person_start_s = float(person.get_attribute("data-start") or "nan")
    person.click()
    page.wait_for_selector("#tab-timeline", state="visible")
    wait_for_player_at(page, person_start_s)

    open_tab(page, "Causes")
    screenshot(page, "5-causes-model")
    step = page.locator("#causes .vx-chip").nth(1)
    step_start_s = float(step.get_attribute("data-start") or "nan")
    step.click()
    wait_for_player_at(page, step_start_s)
    assert job.job_id


def test_library_reindex_costs_nothing_and_delete_removes(page: Any, server: Server) -> None:
    videos = server.ctx.store.list_videos()
    if not videos:
        pytest.skip("needs a video indexed by the tests above")
    title = videos[0].title
    open_tab(page, "Library")
    row = page.locator("#library [role=row]").filter(has_text=title).first
    row.locator("[role=gridcell]").first.click()
    page.wait_for_function(
        "(t) => document.querySelector('#lib-msg').innerText.includes(t)", arg=title
    )
    page.get_by_role("button", name="Re-index with the Index tab's settings").click()
    page.wait_for_function(
        "() => document.querySelector('#lib-msg').innerText.includes('Re-indexing')"
    )
    assert server.ctx.jobs.wait_idle(120)
    redo = server.ctx.jobs.snapshot()[0]
    assert redo.result is not None and redo.status == "done"
    assert redo.result.clips_cached == redo.result.clips_total and redo.result.usage.cost_usd == 0

    # Re-indexing showed the Index tab, where its progress is; back to the Library to delete.
    page.wait_for_selector("#tab-index", state="visible")
    open_tab(page, "Library")
    page.click("#lib-delete")
    page.click("#lib-confirm")
    page.wait_for_function(
        "(t) => document.querySelector('#lib-msg').innerText.includes('Deleted ' + t)", arg=title
    )
    assert title not in [v.title for v in server.ctx.store.list_videos()]
    page.wait_for_function(
        "(t) => !document.querySelector('#library').innerText.includes(t)", arg=title
    )


def test_index_with_a_model_through_the_page_and_cancel(
    page: Any,
    server: Server,
    tmp_path: Path,
    fake_provider: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider, video = slow_model_and_video(
        fake_provider, monkeypatch, tmp_path / "to-cancel.mp4", segment_s=30.0
    )
    allow_base_url(server, monkeypatch, provider.base_url)
    page.reload()  # the page reads key status when it loads; the key was set after
    wait_for_page_loaded(page)
    open_tab(page, "Index")
    page.locator("#indexer input").click()
    page.get_by_role("option", name="GLM-4.5V (provider below)").click()
    page.locator("#base-url textarea, #base-url input").first.fill(provider.base_url)
    page.locator("#concurrency input[type=number]").fill("1")
    page.locator("#concurrency input[type=number]").press("Enter")
    page.locator("#upload input[type=file]").set_input_files(str(video))
    page.wait_for_function(
        "() => document.querySelector('#estimate').innerText.includes('Estimated total on zai')"
    )
    assert "ZAI_API_KEY set" in page.locator("#provider input").input_value()
    page.click("#start-index")
    card = page.locator("#jobs .vx-job:has-text('to-cancel')")
    page.wait_for_function(
        """() => [...document.querySelectorAll('#jobs .vx-job')].some(
               (c) => c.innerText.includes('to-cancel') && /clips [1-9]/.test(c.innerText))""",
        timeout=60_000,
    )
    page.click("#cancel-index")
    page.wait_for_selector("#jobs .vx-job[data-status=cancelled]:has-text('to-cancel')",
                           timeout=60_000)  # fmt: skip
    assert "Cancelling 1 video" in page.inner_text("#index-msg")
    screenshot(page, "7-cancelled")
    job = next(j for j in server.ctx.jobs.snapshot() if j.title == "to-cancel")
    assert job.result is not None and job.result.status == "cancelled"
    assert 1 <= job.result.clips_analysed < job.result.clips_total
    stored = server.ctx.store.clips(job.result.video_id)
    assert len([c for c in stored if c.status == "done"]) == job.result.clips_analysed
    assert provider.requests and all(
        r.path.endswith("/chat/completions") for r in provider.requests
    )
    assert card.count() == 1

    # With GLM chosen on the Index tab, the Ask tab's answers are written by the model.
    ask_the_library(page, "when is the screen red?")
    assert "Answered by the model" in page.inner_text("#chat")
    assert any(not r.images and "Question:" in str(r.body) for r in provider.requests)
    follow_first_citation(page)
    screenshot(page, "8-ask-model")
