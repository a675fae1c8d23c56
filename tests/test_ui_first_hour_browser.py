"""The smaller rough edges a new user met on the page (issue 17, item 4), in headless Chromium.

An offline-indexed video must not show what only a model fills (the Who column, the Character
filter, colouring by character), while a model-indexed video with characters shows them; the
Index tab shows "Requests at once" only for an indexer that sends requests; the timeline's last
axis label is not cut off and its shots are drawn once; re-indexing from the Library goes to the
Index tab; the Conversation label does not cover the conversation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import free_port, launch, open_tab, wait_for_page_loaded
from tests.test_ui_browser import allow_base_url
from ui.server import Server, serve
from videoidx import resolve_settings
from videoidx.media.synth import Segment, make_video

pytestmark = [pytest.mark.browser, pytest.mark.slow]

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("first-hour")
    video = make_video(
        root / "offline_one.mp4",
        [Segment("red", 3.0), Segment("blue", 3.0, pattern=True), Segment("green", 3.7)],
    )
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
    running.ctx.jobs.submit([video], running.ctx.settings)
    assert running.ctx.jobs.wait_idle(120)
    yield running
    running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    pg.goto(server.url)
    wait_for_page_loaded(pg)
    yield pg
    context.close()


def headers(page: Any, table_id: str) -> list[str]:
    return [h.strip() for h in page.locator(f"#{table_id} thead th").all_inner_texts()]


def pick_video(page: Any, title: str) -> None:
    page.locator("#video-select input").click()
    page.get_by_role("option").filter(has_text=title).first.click()
    page.wait_for_function(
        "(t) => document.querySelector('#video-select input').value.startsWith(t)", arg=title
    )


def test_offline_timeline_hides_what_only_a_model_fills(
    page: Any, server: Server, colour_video: Path, fake_provider: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    open_tab(page, "Timeline")
    page.wait_for_selector("#timeline-viz .vx-bar")
    assert any("What happens" in h for h in headers(page, "event-list"))
    assert not any("Who" in h for h in headers(page, "event-list"))
    assert not page.locator("#colour-by").is_visible()
    page.get_by_text("Match and filters").click()
    filters = page.locator("#tab-timeline")
    filters.get_by_label("Label", exact=True).wait_for()  # the accordion opens, not at once
    assert not filters.get_by_label("Character", exact=True).is_visible()

    # A video indexed by a model that names characters shows all three.
    provider = fake_provider("zai")
    monkeypatch.setenv("ZAI_API_KEY", provider.api_key)
    allow_base_url(server, monkeypatch, provider.base_url)
    model = server.ctx.settings.replace(indexer="glm", provider="zai", base_url=provider.base_url)
    server.ctx.jobs.submit([colour_video], model)
    assert server.ctx.jobs.wait_idle(120)
    assert server.ctx.store.characters(server.ctx.store.list_videos()[-1].video_id)
    page.reload()
    wait_for_page_loaded(page)
    open_tab(page, "Timeline")
    pick_video(page, colour_video.stem)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#event-list thead th')]"
        ".some((h) => h.innerText.includes('Who'))"
    )
    assert page.locator("#colour-by").is_visible()
    page.get_by_text("Match and filters").click()
    filters.get_by_label("Character", exact=True).wait_for()

    # And back to the offline video: hidden again.
    pick_video(page, "offline_one")
    page.wait_for_function(
        "() => ![...document.querySelectorAll('#event-list thead th')]"
        ".some((h) => h.innerText.includes('Who'))"
    )
    assert not page.locator("#colour-by").is_visible()


def test_the_timeline_draws_its_axis_whole_and_its_shots_once(page: Any, server: Server) -> None:
    open_tab(page, "Timeline")
    pick_video(page, "offline_one")
    video_id = next(v.video_id for v in server.ctx.store.list_videos() if v.title == "offline_one")
    # The picked video's timeline, not the one shown before it (the select changes first).
    page.wait_for_function(
        "(v) => { const b = document.querySelector('#timeline-viz .vx-bar');"
        " return !!b && b.dataset.video === v; }",
        arg=video_id,
    )
    timeline = page.locator("#timeline-viz .vx-timeline").bounding_box()
    last = page.locator("#timeline-viz .vx-axis span").last
    box = last.bounding_box()
    assert box["x"] + box["width"] <= timeline["x"] + timeline["width"] + 0.5, "label cut off"
    # The full label shows: its text fits its box (a cut label scrolls inside the timeline).
    scroll = page.eval_on_selector(
        "#timeline-viz .vx-timeline", "t => t.scrollWidth - t.clientWidth"
    )
    assert scroll <= 0
    lanes = page.locator("#timeline-viz .vx-lane-name").all_inner_texts()
    assert "shot" in [name.strip() for name in lanes]  # the offline indexer's shot events
    assert page.locator("#timeline-viz .vx-shots").count() == 0, "the shots band repeats them"


def test_requests_at_once_only_for_an_indexer_that_sends_requests(
    page: Any, server: Server
) -> None:
    open_tab(page, "Index")
    assert not page.locator("#concurrency").is_visible()
    page.locator("#indexer input").click()
    page.get_by_role("option", name="GLM-4.5V (provider below)").click()
    page.wait_for_selector("#concurrency", state="visible")
    page.locator("#indexer input").click()
    page.get_by_role("option", name="Offline (no key, free)").click()
    page.wait_for_selector("#concurrency", state="hidden")


def test_reindex_from_the_library_goes_to_the_index_tab(page: Any, server: Server) -> None:
    title = "offline_one"
    open_tab(page, "Library")
    row = page.locator("#library [role=row]").filter(has_text=title).first
    row.locator("[role=gridcell]").first.click()
    page.wait_for_function(
        "(t) => document.querySelector('#lib-msg').innerText.includes(t)", arg=title
    )
    page.get_by_role("button", name="Re-index with the Index tab's settings").click()
    page.wait_for_selector("#tab-index", state="visible")
    page.wait_for_function(
        "() => document.querySelector('#index-msg').innerText.includes('Re-indexing')"
    )
    assert server.ctx.jobs.wait_idle(120)


def test_the_conversation_label_does_not_cover_the_conversation(page: Any, server: Server) -> None:
    open_tab(page, "Ask")
    page.locator("#ask-scope").get_by_text("Whole library").click()
    for question in ("when is there a shot change?", "what happens in the first seconds?"):
        page.locator("#ask-box textarea, #ask-box input").first.fill(question)
        page.click("#ask-btn")
        page.wait_for_function(
            "(q) => document.querySelector('#chat').innerText.includes(q)", arg=question
        )
    page.wait_for_timeout(500)
    # Scrolled part way, any message under the label would be hidden by it.
    page.eval_on_selector(
        "#chat", "c => { for (const e of c.querySelectorAll('*')) "
        "if (e.scrollHeight > e.clientHeight + 20) e.scrollTop = e.scrollHeight / 3; }"
    )  # fmt: skip
    page.wait_for_timeout(300)
    covered = page.eval_on_selector(
        "#chat",
        """(chat) => {
            const label = chat.querySelector('[data-testid="block-label"], label');
            if (!label || !label.offsetParent) return [];
            const l = label.getBoundingClientRect();
            return [...chat.querySelectorAll('.message, [data-testid="user"], [data-testid="bot"]')]
              .flatMap((m) => [...m.querySelectorAll('*')])
              .filter((e) => e.childNodes.length && [...e.childNodes].some(
                  (n) => n.nodeType === 3 && n.textContent.trim()))
              .filter((e) => {
                const r = e.getBoundingClientRect();
                const scroller = e.closest('.bubble-wrap, [role=log]') || chat;
                const s = scroller.getBoundingClientRect();
                const visible = r.bottom > s.top && r.top < s.bottom;
                return visible && r.bottom > l.top && r.top < l.bottom
                    && r.right > l.left && r.left < l.right;
              }).map((e) => e.textContent.trim().slice(0, 40));
        }""",
    )
    assert covered == [], f"the label covers {covered}"
    heading = page.locator("#chat-heading").bounding_box()
    assert heading is not None and "Conversation" in page.inner_text("#chat-heading")
    assert heading["y"] + heading["height"] <= page.locator("#chat").bounding_box()["y"] + 1


def test_at_1024x700_the_timeline_is_on_the_first_screen(browser: Any, server: Server) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 700})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(server.url)
    wait_for_page_loaded(page)
    open_tab(page, "Timeline")
    page.wait_for_selector("#timeline-viz .vx-bar")
    page.wait_for_selector("#player video")
    first_lane = page.locator("#timeline-viz .vx-lane").first.bounding_box()
    assert first_lane["y"] + first_lane["height"] <= 700, f"a lane at {first_lane['y']:.0f} px"
    assert page.evaluate("() => window.scrollY") == 0
    context.close()
