"""Headless Debian Chromium for the browser tests, and the page helpers they share.

Playwright cannot download its own browser on these machines, so it launches the system one with
the flags ecosystem.md lists. Tests never wait for ``networkidle``: the video's range requests
keep the network busy; they wait for elements and for the player's ``currentTime`` instead.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

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
