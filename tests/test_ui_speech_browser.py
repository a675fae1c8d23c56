"""What is said and shown, on the page, in headless Chromium: the transcript under the player, the
speech and on-screen text lanes, captions, and the empty state of a video without sound.

The library is indexed for real before the page starts (faster-whisper tiny.en and RapidOCR, as
``test_speech_e2e.py``): JFK's sentence muxed into a slides video at a known offset, after a title
slide, and the same slides without an audio stream. One page load serves every check; each click
is checked where it matters, on the player's ``currentTime``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser import (
    chromium,
    open_page,
    open_tab,
    page_settings,
    player_time_s,
    screenshot,
    wait_for_player_at,
)
from tests.test_speech_e2e import JFK, SPEECH_AT_S, make_talk
from ui.server import Server, serve
from videoidx import Store
from videoidx.pipeline.run import index_video
from videoidx.store.export import MIN_CUE_S, to_webvtt

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not JFK.is_file(), reason="shared speech media missing"),
]

pytest.importorskip("playwright.sync_api")


@dataclass
class Talks:
    server: Server
    talk_id: str
    silent_id: str


@pytest.fixture(scope="module")
def talks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Talks]:
    root = tmp_path_factory.mktemp("speech-page")
    talk = make_talk(root / "media")
    # dedupe_threshold=0 as in test_speech_e2e: the title slide must reach the text reader.
    settings = page_settings(root, dedupe_threshold=0)
    with Store.open(settings.db_path) as store:
        # The silent one first: the page opens the newest indexed video, the one with speech.
        silent = index_video(root / "media" / "slides.mp4", settings=settings, store=store)
        spoken = index_video(talk, settings=settings, store=store)
        assert silent.status == "done" and spoken.status == "done", (silent, spoken)
        assert store.speech(spoken.video_id), "the real model heard nothing in the talk"
        assert not store.speech(silent.video_id)
    server = serve(settings, block=False, quiet=True)
    try:
        yield Talks(server, spoken.video_id, silent.video_id)
    finally:
        server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _seek_js(page: Any, t: float) -> None:
    """Move the player as playback would (the page did not ask for it)."""
    page.eval_on_selector("#player video", "(v, t) => { v.currentTime = t; }", t)


def _track_src(page: Any) -> str:
    """The player's captions track URL; "" when it shows none (Gradio keeps an empty track)."""
    return str(
        page.eval_on_selector(
            "#player video",
            "v => { const t = v.querySelector('track'); return t && t.getAttribute('src') || ''; }",
        )
    )


def test_transcript_lanes_and_captions_follow_the_speech(browser: Any, talks: Talks) -> None:
    store = talks.server.ctx.store
    speech = store.speech(talks.talk_id)
    texts = store.screen_texts(talks.talk_id)
    assert texts, "the title slide was not read"
    with open_page(browser, talks.server.url) as page:
        page.wait_for_selector("#transcript .vx-line")
        page.wait_for_selector("#player video")

        # One transcript line per spoken segment, with its time and words, in time order.
        lines = page.locator("#transcript .vx-line")
        assert lines.count() == len(speech)
        for i, seg in enumerate(speech):
            assert float(lines.nth(i).get_attribute("data-start") or "nan") == pytest.approx(
                seg.start_s, abs=1e-3
            )
            assert " ".join(seg.text.split()) in " ".join(lines.nth(i).inner_text().split())
        assert "country" in page.inner_text("#transcript").lower()

        # The lanes: one item per segment and per span of on-screen text.
        assert page.locator("#timeline-viz .vx-said-speech").count() == len(speech)
        assert page.locator("#timeline-viz .vx-said-text").count() == len(texts)
        screenshot(page, "speech-timeline-1400")

        # A click on the last line seeks the player to its start, and that line is "now".
        last = speech[-1]
        lines.nth(len(speech) - 1).click()
        wait_for_player_at(page, last.start_s)
        page.wait_for_selector(f"#transcript .vx-line.vx-now[data-start='{last.start_s:.3f}']")

        # The highlight follows currentTime, however the player got there: before the first
        # word nothing is being said; inside the first segment, that line is.
        _seek_js(page, max(0.0, speech[0].start_s - 2.0))
        page.wait_for_function("() => !document.querySelector('#transcript .vx-now')")
        _seek_js(page, speech[0].start_s + 0.2)
        page.wait_for_selector(f"#transcript .vx-line.vx-now[data-start='{speech[0].start_s:.3f}']")
        assert page.locator("#transcript .vx-now").count() == 1

        # A segment on the speech lane and a span on the text lane seek like event bars.
        page.locator("#timeline-viz .vx-said-speech").first.click()
        wait_for_player_at(page, speech[0].start_s)
        page.locator("#timeline-viz .vx-said-text").first.click()
        wait_for_player_at(page, texts[0].start_s)
        assert texts[0].start_s < SPEECH_AT_S

        # Captions: off until asked; then a track whose cues are the speech rows.
        assert _track_src(page) == ""
        page.locator("#captions input").check()
        page.wait_for_function(
            """(n) => {
                const v = document.querySelector('#player video');
                const tt = v && v.textTracks[0];
                return !!tt && !!tt.cues && tt.cues.length === n;
            }""",
            arg=len(speech),
        )
        cues = page.eval_on_selector(
            "#player video",
            "v => [...v.textTracks[0].cues].map(c => [c.startTime, c.endTime, c.text])",
        )
        for (start_s, end_s, text), seg in zip(cues, speech, strict=True):
            assert start_s == pytest.approx(seg.start_s, abs=1e-3)
            assert end_s == pytest.approx(max(seg.end_s, seg.start_s + MIN_CUE_S), abs=1e-3)
            assert " ".join(text.split()) == " ".join(seg.text.split())
        # The track is the one exporter's WebVTT, served as that one file and nothing beside it.
        src = _track_src(page)
        assert src
        served = page.evaluate("async (u) => (await fetch(u)).text()", src)
        assert served == to_webvtt(store, talks.talk_id, speech=True)
        copies = talks.server.ctx.player.copies_dir
        (copies / "beside.vtt").write_text("WEBVTT\n\nprivate\n")
        swapped = src.replace(f"{talks.talk_id}.captions.vtt", "beside.vtt")
        assert swapped != src
        status = page.evaluate("async (u) => (await fetch(u)).status", swapped)
        assert status != 200
        # Turning captions on did not move the player.
        assert player_time_s(page) == pytest.approx(texts[0].start_s, abs=0.05)
        # With a line said now, the player shows its caption (looked at in the screenshot).
        lines.first.click()
        wait_for_player_at(page, speech[0].start_s)
        page.set_viewport_size({"width": 1024, "height": 1000})
        screenshot(page, "speech-timeline-1024")
        page.set_viewport_size({"width": 1400, "height": 1000})

        # The video without an audio stream says so, where the transcript would be and on its
        # lane; its title slide is still on the text lane.
        open_tab(page, "Library")
        row = page.locator("#library [role=row]").filter(has_text="slides").first
        row.locator("[role=gridcell]").first.click()
        page.click("#lib-open")
        page.wait_for_function(
            "() => document.querySelector('#transcript').innerText.includes('no audio stream')"
        )
        assert page.locator("#transcript .vx-line").count() == 0
        assert "sound track" in page.inner_text("#transcript")
        assert "no audio stream" in page.inner_text("#timeline-viz .vx-lane-speech")
        assert page.locator("#timeline-viz .vx-said-speech").count() == 0
        assert page.locator("#timeline-viz .vx-said-text").count() == len(
            store.screen_texts(talks.silent_id)
        )
        assert not page.locator("#captions input").is_checked()
        assert not page.locator("#captions input").is_enabled()  # nothing to caption
        screenshot(page, "speech-none-1400")
