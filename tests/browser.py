"""Headless Debian Chromium for the browser tests, and the page helpers they share.

Playwright cannot download its own browser on these machines, so it launches the system one with
the flags ecosystem.md lists. Tests never wait for ``networkidle``: the video's range requests
keep the network busy; they wait for elements and for the player's ``currentTime`` instead.

The pieces every browser test module's fixtures are made of live here: the page's settings over a
fresh library (:func:`page_settings`), one Chromium per module (:func:`chromium`) and one page per
test (:func:`open_page`). They are context managers rather than fixtures, so each module keeps
its fixtures (and their scopes) in plain sight and no fixture is imported by name.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from videoidx import Settings, resolve_settings

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "ui"
SEEK_TOLERANCE_S = 0.05


def free_port() -> int:
    """A port nothing listens on now, for a page served by a test or a benchmark."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page_settings(root: Path, **overrides: Any) -> Settings:
    """Settings of a page over a fresh library under ``root``: the offline indexer, a free
    port, no config file or environment; ``overrides`` by flat setting name."""
    return resolve_settings(
        {
            "db_path": str(root / "library.duckdb"),
            "upload_dir": str(root / "uploads"),
            "port": free_port(),
            "indexer": "local",
            **overrides,
        },
        env={},
    )


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a module's ``browser`` fixture); skips when it is not installed."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Any, url: str, *, width_px: int = 1400, height_px: int = 1000) -> Any:
    """A fresh page (its own context) at ``url``, after the page's load events have run."""
    context = browser.new_context(viewport={"width": width_px, "height": height_px})
    try:
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        pg.goto(url)
        wait_for_page_loaded(pg)
        yield pg
    finally:
        context.close()


def launch(playwright: Any) -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (python -m tests installs it where apt is usable)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)


def player_time_s(page: Any) -> float:
    return float(page.eval_on_selector("#player video", "v => v.currentTime"))


def wait_for_player_at(page: Any, start_s: float, timeout_ms: int = 15_000) -> None:
    """Wait until the player has seeked to ``start_s`` (the assertion of every seek test)."""
    page.wait_for_function(
        """([t, tol]) => {
            const v = document.querySelector('#player video');
            return !!v && Math.abs(v.currentTime - t) < tol;
        }""",
        arg=[start_s, SEEK_TOLERANCE_S],
        timeout=timeout_ms,
    )


def wait_for_page_loaded(page: Any) -> None:
    """The page's load events have run (they may switch tabs, so click nothing before)."""
    page.wait_for_selector("body[data-vx-loaded]", state="attached")


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def cell(page: Any, table_id: str, row: int, col: int) -> Any:
    return page.locator(f"#{table_id} [data-testid='cell-{row}-{col}']")


def scrolled_cell(page: Any, table_id: str, row: int, col: int, timeout_ms: int = 20_000) -> Any:
    """The cell at ``row``, ``col``, once the table has drawn it: a Gradio table draws only the
    rows near its scrolled view, so this scrolls it down until the row is there."""
    target = cell(page, table_id, row, col)
    page.locator(f"#{table_id} [data-testid^='cell-']").first.wait_for(timeout=timeout_ms)
    scroll = (
        "(t, top) => { for (const e of [t, ...t.querySelectorAll('*')]) "
        "if (e.scrollHeight > e.clientHeight + 2) "
        "e.scrollTop = top ? 0 : e.scrollTop + e.clientHeight / 2; }"
    )
    if target.count() == 0:
        page.eval_on_selector(f"#{table_id}", scroll, True)
        page.wait_for_timeout(100)
    deadline_ms = timeout_ms
    while target.count() == 0 and deadline_ms > 0:
        page.eval_on_selector(f"#{table_id}", scroll, False)
        page.wait_for_timeout(100)
        deadline_ms -= 100
    target.scroll_into_view_if_needed()
    return target
