"""The page shows what consolidation made, in headless Chromium: one card for a figure seen in
three clips (with the clips), the cross-clip chain on the Causes tab, and clicks that seek.

The video and the fake model are those of ``test_consolidate_e2e.py``: three tinted shots of one
figure that each clip names differently, sparks in the first shot causing smoke in the last.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (
    chromium,
    open_page,
    open_tab,
    page_settings,
    screenshot,
    wait_for_player_at,
)
from tests.test_consolidate_e2e import CLIP_FLAGS, STORY
from ui.server import Server, serve
from videoidx.media.synth import make_video

pytestmark = [pytest.mark.browser, pytest.mark.slow]

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = serve(page_settings(tmp_path_factory.mktemp("page")), block=False, quiet=True)
    yield running
    running.close()


def test_characters_and_causes_tabs_show_consolidation_and_seek(
    server: Server,
    tmp_path: Path,
    fake_provider: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video = make_video(tmp_path / "story.mp4", STORY)
    provider = fake_provider("zai")
    monkeypatch.setenv("ZAI_API_KEY", provider.api_key)
    # What an operator does to let visitors use a self-hosted server: allow its base URL.
    monkeypatch.setattr(
        server.ctx, "settings", server.ctx.settings.replace(allowed_base_urls=provider.base_url)
    )
    model = server.ctx.settings.replace(
        indexer="glm", provider="zai", base_url=provider.base_url, **CLIP_FLAGS
    )
    (job,) = server.ctx.jobs.submit([video], model)
    assert server.ctx.jobs.wait_idle(120)
    assert job.result is not None and job.result.status == "done", job.result
    video_id = job.result.video_id
    store = server.ctx.store
    events = {e.id: e for e in store.events(video_id)}
    (person,) = store.characters(video_id)
    (cross,) = [link for link in store.links(video_id) if link.clip_id is None]
    cause, effect = events[cross.cause_id], events[cross.effect_id]

    with chromium() as browser, open_page(browser, server.url) as page:
        open_tab(page, "Index")
        page.locator("#jobs [data-status=done]:has-text('story')").click()
        page.wait_for_selector("#timeline-viz .vx-bar")

        # One card for the figure the three clips named three ways, listing its three clips.
        open_tab(page, "Characters")
        cards = page.locator("#characters .vx-card")
        assert cards.count() == 1
        card_text = cards.first.inner_text()
        assert person.name in card_text
        assert "in 3 clips: 0:00–0:03, 0:03–0:06, 0:06–0:09" in card_text
        screenshot(page, "consolidated-characters")

        # The Causes tab shows sparks (clip 0) leading to smoke (clip 2), and each step seeks.
        open_tab(page, "Causes")
        chain = page.locator("#causes .vx-chain").filter(has_text="causes →")
        assert chain.count() == 1
        steps = chain.first.locator(".vx-chip")
        assert steps.count() == 2
        assert "magenta screen" in steps.nth(0).inner_text()
        assert "cyan screen" in steps.nth(1).inner_text()
        screenshot(page, "consolidated-causes")
        steps.nth(1).click()
        wait_for_player_at(page, effect.start_s)

        # The character card seeks to the first sighting, and the cause step back to the cause.
        open_tab(page, "Characters")
        page.locator("#characters .vx-card").first.click()
        wait_for_player_at(page, person.first_seen_s or 0.0)
        open_tab(page, "Causes")
        steps.nth(1).click()
        wait_for_player_at(page, effect.start_s)
        open_tab(page, "Causes")
        steps.nth(0).click()
        wait_for_player_at(page, cause.start_s)
