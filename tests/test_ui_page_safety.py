"""What a visitor's browser does with a hostile library, and what the page serves, in Chromium.

The library here is the one a real operator has: a video indexed from the command line in a
folder that is neither the server's working directory nor under /tmp, and text (event
descriptions, characters, causes, a title) that came from a model and carries Markdown images,
links and ``<img>`` tags pointing at a listener. The page must play the video, serve no other
file of that folder, show the hostile text as text (the listener never hears from the browser),
explain an oversize upload, and never show the server's temporary paths.
"""

from __future__ import annotations

import http.server
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest

import videoidx
from tests import storefix
from tests.browser import (
    cell,
    chromium,
    open_page,
    open_tab,
    page_settings,
    screenshot,
    wait_for_player_at,
)
from tests.conftest import COLOUR_SEGMENTS
from ui.server import Server, serve
from videoidx import Store
from videoidx.media.synth import make_video
from videoidx.types import (
    Appearance,
    CausalLink,
    Character,
    ClipAnalysis,
    Event,
    ScreenText,
    SpeechSegment,
    Usage,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

pytest.importorskip("playwright.sync_api")


UPLOAD_CAP_MB = 1


class Listener:
    """A loopback HTTP server standing in for the attacker's host; it records every request."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        seen = self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payload(self, where: str) -> str:
        """Text that fetches from the listener if any renderer treats it as Markdown or HTML."""
        base = f"http://127.0.0.1:{self.port}"
        return (
            f"goal ![x]({base}/{where}-md.png) [link]({base}/{where}-link) "
            f"<img src={base}/{where}-img.png> <b>bold</b>"
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Library:
    root: Path
    outside: Path
    video: Path
    neighbour: Path
    listener: Listener
    server: Server


@dataclass(frozen=True)
class _Group:
    """A merged character as the store takes it."""

    name: str
    description: str
    member_ids: tuple[str, ...]
    first_seen_s: float | None = 0.0


def _outside_folder() -> Path:
    """A folder outside the server's working directory and the system temp dir: where the bulk of
    a real library lives, and where Gradio's default rules refuse to serve from."""
    folder = Path.home() / f"videoidx-page-test-{uuid.uuid4().hex[:8]}"
    cwd, tmp = Path.cwd().resolve(), Path(tempfile.gettempdir()).resolve()
    assert cwd not in folder.parents and tmp not in folder.parents
    folder.mkdir()
    return folder


def _hostile_analysis(listener: Listener) -> ClipAnalysis:
    p = listener.payload
    events = [
        Event(
            key=f"e{i}",
            start_s=2.0 * i,
            end_s=2.0 * i + 2.0,
            label=p(f"label{i}") if i == 1 else "shot",
            description=p(f"desc{i}"),
            characters=("c1",),
            objects=(),
            location=p("location"),
            on_screen_text=p("ocr"),
            confidence=0.9,
        )
        for i in range(2)
    ]
    return ClipAnalysis(
        events=events,
        characters=[Character("c1", p("charname"), p("chardesc"), 0.0)],
        appearances=[Appearance("c1", e.start_s, e.end_s, e.key, None) for e in events],
        links=[CausalLink("e0", "e1", p("relation"), p("explanation"), 0.8)],
        summary=p("summary"),
        raw_reply="{}",
        usage=Usage(prompt_tokens=1, completion_tokens=1, cost_usd=0.0, requests=1),
        model="test-model",
        # What was said and shown is outside-world text too: the transcript, the lanes.
        speech=[SpeechSegment(0.5, 1.8, p("said")), SpeechSegment(2.5, 3.5, p("said2"))],
        speech_engine="test-transcriber",
        screen_text=[ScreenText(0.2, 1.5, p("shown"))],
        text_engine="test-reader",
    )


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    root = tmp_path_factory.mktemp("page-safety")
    outside = _outside_folder()
    listener = Listener()
    try:
        video = make_video(outside / "outside clip.mp4", COLOUR_SEGMENTS)
        neighbour = outside / "not-in-library.mp4"
        shutil.copyfile(video, neighbour)
        (outside / "notes.txt").write_text("private notes\n")
        settings = page_settings(root, upload_max_mb=UPLOAD_CAP_MB)
        with Store.open(settings.db_path) as store:
            # A video whose every text came from a hostile model (and whose file is gone) ...
            hostile = storefix.video_info("vid-hostile", listener.payload("title"), 4.0)
            store.upsert_video(replace(hostile, path="/videos/hostile.mp4"))
            run = storefix.start(store, "vid-hostile")
            spec = storefix.clip("vid-hostile", 0, 4.0)
            store.write_clip(run, spec, "k0", _hostile_analysis(listener))
            store.finish_run(run, "done", Usage(prompt_tokens=2))
            members = tuple(c.id for c in store.clip_characters("vid-hostile"))
            group = _Group(listener.payload("charname"), listener.payload("chardesc"), members)
            store.write_characters("vid-hostile", [group], provenance="model:test")
            # ... and, newest, a real video indexed from the command line in the outside folder.
            result = videoidx.index_video(video, settings=settings, store=store)
            assert result.status == "done" and result.events > 0
        server = serve(settings, block=False, quiet=True)
        try:
            yield Library(root, outside, video, neighbour, listener, server)
        finally:
            server.close()
    finally:
        listener.close()
        shutil.rmtree(outside, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, library: Library) -> Iterator[Any]:
    with open_page(browser, library.server.url) as pg:
        yield pg


# -- item 4: videos outside the working directory play; nothing else is served ------------------


def test_a_video_in_an_outside_folder_plays_and_seeks(page: Any, library: Library) -> None:
    # The newest video opens on load: its player must load media and seek.
    page.wait_for_selector("#player video")
    page.wait_for_function(
        "() => { const v = document.querySelector('#player video');"
        " return !!v && v.readyState >= 1 && v.duration > 10; }"
    )
    bar = page.locator("#timeline-viz .vx-bar").nth(2)
    start_s = float(bar.get_attribute("data-start") or "nan")
    assert start_s > 0
    bar.click()
    wait_for_player_at(page, start_s)
    page.wait_for_function(
        "() => document.querySelector('#player video').readyState >= 2", timeout=15_000
    )
    assert "Cannot move" not in page.content()
    screenshot(page, "safety-outside-video")


def test_only_the_library_files_of_that_folder_are_served(page: Any, library: Library) -> None:
    page.wait_for_selector("#player video")
    src = page.eval_on_selector("#player video", "v => v.currentSrc || v.src")
    assert src, "the player has no source"
    base = library.server.url
    with httpx.Client(timeout=10) as http:
        served = http.get(src, headers={"Range": "bytes=0-99"})
        assert served.status_code in (200, 206)
        assert served.content == library.video.read_bytes()[: len(served.content)]
        name = unquote(src.rsplit("/", 1)[-1])
        neighbour, notes = library.neighbour, library.outside / "notes.txt"
        tries = [
            src.replace(quote(name), quote(neighbour.name)).replace(name, neighbour.name),
            *[
                f"{base}{route}{path}"
                for route in ("gradio_api/file=", "file=", "gradio_api/file/", "static/")
                for path in (neighbour, notes, library.outside, quote(str(neighbour)))
            ],
            f"{base}gradio_api/file={library.video.parent}/../{library.outside.name}/notes.txt",
        ]
        for url in tries:
            r = http.get(url)
            assert b"private notes" not in r.content, url
            assert r.content[:100] != library.neighbour.read_bytes()[:100], url
            assert r.status_code >= 400, (url, r.status_code)


# -- item 7: model text is text ----------------------------------------------------------------


def _wait_text(page: Any, selector: str, text: str, listener: Listener | None = None) -> None:
    """Wait until ``selector`` shows ``text`` literally; on failure say what it shows instead and
    what the listener has been asked for by then."""
    try:
        page.wait_for_function(
            "([s, t]) => { const el = document.querySelector(s);"
            " return !!el && el.innerText.includes(t); }",
            arg=[selector, text],
            timeout=10_000,
        )
    except Exception as exc:
        shown = page.inner_text(selector) if page.locator(selector).count() else "(missing)"
        heard = listener.paths if listener is not None else "?"
        raise AssertionError(f"{selector} shows {shown!r}, not {text!r}; fetched: {heard}") from exc


def test_hostile_model_text_is_shown_as_text_and_fetches_nothing(
    page: Any, library: Library
) -> None:
    listener = library.listener
    base = f"http://127.0.0.1:{listener.port}"
    literal_md = f"![x]({base}/desc0-md.png)"

    # The library row and the messages about it (title from the model / a file name).
    open_tab(page, "Library")
    row = page.locator("#library [role=row]").filter(has_text="goal").first
    row.locator("[role=gridcell]").first.click()
    _wait_text(page, "#lib-msg", f"![x]({base}/title-md.png)", listener)
    page.click("#lib-delete")
    _wait_text(page, "#lib-msg", f"<img src={base}/title-img.png>", listener)
    page.get_by_role("button", name="Re-index with the Index tab's settings").click()
    _wait_text(page, "#lib-msg", "hostile.mp4", listener)
    assert "/videos/" not in page.inner_text("#lib-msg")
    page.click("#lib-open")
    page.wait_for_selector("#tab-timeline", state="visible")
    _wait_text(page, "#player-note", "hostile.mp4", listener)

    # The event list, the selected-event panel (description, who, where, on-screen text).
    cell(page, "event-list", 0, 2).wait_for()
    assert literal_md in page.inner_text("#event-list")
    cell(page, "event-list", 0, 2).click()
    _wait_text(page, "#selected", literal_md, listener)
    selected = page.inner_text("#selected")
    for where in ("location", "ocr", "charname"):
        assert f"<img src={base}/{where}-img.png>" in selected
    assert "<b>bold</b>" in selected
    page.locator("#timeline-viz .vx-bar").first.hover()

    # The transcript under the player and the speech and on-screen text lanes.
    _wait_text(page, "#transcript", f"![x]({base}/said-md.png)", listener)
    transcript = page.inner_text("#transcript")
    assert f"<img src={base}/said2-img.png>" in transcript and "<b>bold</b>" in transcript
    said = page.locator("#timeline-viz .vx-said-speech")
    assert said.count() == 2
    assert f"<img src={base}/said-img.png>" in (said.first.get_attribute("title") or "")
    said.first.hover()
    shown = page.locator("#timeline-viz .vx-said-text")
    assert shown.count() == 1
    assert f"[link]({base}/shown-link)" in (shown.first.get_attribute("title") or "")
    shown.first.hover()
    page.locator("#transcript .vx-line").nth(1).click()
    _wait_text(page, "#selected", "0:02–0:03 · said", listener)
    _wait_text(page, "#selected", f"![x]({base}/said2-md.png)", listener)
    assert f"<img src={base}/said2-img.png>" in page.inner_text("#selected")

    # Search hits and the line above them (the visitor's own query is echoed as text too).
    page.locator("#search-scope").get_by_text("Whole library").click()
    page.locator("#search-box textarea, #search-box input").first.fill("goal ![q](" + base + "/q)")
    page.click("#search-btn")
    cell(page, "search-results", 0, 0).wait_for()
    _wait_text(page, "#search-info", f"![q]({base}/q)", listener)
    assert "desc" in page.inner_text("#search-results")

    open_tab(page, "Characters")
    _wait_text(page, "#characters", f"![x]({base}/charname-md.png)", listener)
    open_tab(page, "Causes")
    _wait_text(page, "#causes", f"[link]({base}/relation-link)", listener)

    # The Ask tab: the question and the (retrieved) answer quote the hostile descriptions.
    open_tab(page, "Ask")
    page.locator("#ask-scope").get_by_text("Whole library").click()
    page.locator("#ask-box textarea, #ask-box input").first.fill("goal ![a](" + base + "/ask)")
    page.click("#ask-btn")
    cell(page, "citations", 0, 0).wait_for(timeout=30_000)
    _wait_text(page, "#chat", literal_md, listener)
    _wait_text(page, "#chat", f"![a]({base}/ask)", listener)
    assert literal_md in page.inner_text("#citations")
    screenshot(page, "safety-hostile-ask")

    # Let any late image load land before counting.
    page.wait_for_timeout(1500)
    assert listener.paths == [], f"the browser fetched {listener.paths}"
    assert page.locator(f"img[src^='{base}'], a[href^='{base}']").count() == 0


# -- item 13: uploads over the cap, and no server paths --------------------------------------


def test_an_oversize_upload_is_explained_on_the_page(
    page: Any, library: Library, tmp_path: Path
) -> None:
    big = tmp_path / "too big.mp4"
    big.write_bytes(b"\0" * (UPLOAD_CAP_MB * 1024 * 1024 + 4096))
    open_tab(page, "Index")
    page.locator("#upload input[type=file]").set_input_files(str(big))
    _wait_text(page, "#upload-note", "over the upload cap")
    note = page.inner_text("#upload-note")
    assert "too big.mp4" in note and f"cap of {UPLOAD_CAP_MB} MB" in note
    assert "videoidx index" in note
    # It stays (not a toast that fades), and the upload box is ready for another file.
    page.wait_for_timeout(6000)
    assert "over the upload cap" in page.inner_text("#upload-note")
    assert "Error" not in page.inner_text("#upload")
    screenshot(page, "safety-oversize-upload")
    small = tmp_path / "small.mp4"
    small.write_bytes(b"not a video")
    page.locator("#upload input[type=file]").set_input_files(str(small))
    _wait_text(page, "#estimate", "small.mp4")
    assert page.inner_text("#upload-note").strip() == ""


def test_the_page_never_shows_server_paths(page: Any, library: Library, tmp_path: Path) -> None:
    junk = tmp_path / "holiday clip.mp4"
    junk.write_bytes(b"this is not a video at all")
    open_tab(page, "Index")
    page.locator("#upload input[type=file]").set_input_files(str(junk))
    _wait_text(page, "#estimate", "cannot be indexed")
    estimate = page.inner_text("#estimate")
    page.click("#start-index")
    # Alone, the file is refused before a job starts: the line under Start says why.
    _wait_text(page, "#index-msg", "Nothing to index")
    refused = page.inner_text("#index-msg")
    # Beside a real video, it gets a job of its own, which fails: its card says why.
    real = make_video(tmp_path / "real.mp4", COLOUR_SEGMENTS[:1], width_px=64, height_px=48)
    page.locator("#upload input[type=file]").set_input_files([str(junk), str(real)])
    _wait_text(page, "#estimate", "real.mp4")
    page.click("#start-index")
    page.wait_for_selector("#jobs .vx-job[data-status=failed]", timeout=60_000)
    card = page.inner_text("#jobs .vx-job[data-status=failed]")
    for shown in (estimate, refused, card):
        assert "holiday clip" in shown, shown
    hidden = [tempfile.gettempdir(), str(library.root), "/gradio/", str(Path.cwd())]
    for shown in (estimate, refused, card, page.inner_text("#jobs")):
        for path in hidden:
            assert path not in shown, f"{path} is shown to the visitor: {shown}"
