"""The page's speech and on-screen text views without a browser: the lanes and the transcript
(escaped, one item per row), the captions file (the one exporter's, served as one file), and the
empty states that say where speech and text come from and why a video has none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from indexers import transcriber_class
from tests import storefix
from ui import render
from ui.server import make_context
from videoidx import Store, resolve_settings
from videoidx.store import StoredSaid
from videoidx.store.export import to_webvtt
from videoidx.types import ScreenText, SpeechSegment

HOSTILE = '<img src=http://127.0.0.1:9/x.png> ![m](http://127.0.0.1:9/m) "quote" & <b>b</b>'


def _said(kind: str, n: int, text: str = "words") -> list[StoredSaid]:
    return [StoredSaid(f"{kind}{i}", "vid", kind, 2.0 * i, 2.0 * i + 1.5, text) for i in range(n)]


def _store_with(
    tmp_path: Path,
    *,
    speech: Sequence[SpeechSegment] = (),
    texts: Sequence[ScreenText] = (),
    has_audio: bool = True,
    run_settings: dict[str, Any] | None = None,
) -> Store:
    store = Store.open(tmp_path / "s.duckdb")
    store.upsert_video(replace(storefix.video_info("vid", duration_s=10.0), has_audio=has_audio))
    run = store.start_run(
        "vid", indexer="test", model="m", provider="", prompt_version="v",
        settings=run_settings or {},
    )  # fmt: skip
    spec = storefix.clip("vid", 0, 10.0)
    analysis = storefix.analysis(spec)
    analysis.speech, analysis.speech_engine = list(speech), "test"
    analysis.screen_text, analysis.text_engine = list(texts), "test"
    store.write_clip(run, spec, "k0", analysis)
    store.finish_run(run, "done", analysis.usage)
    return store


# -- render ------------------------------------------------------------------------------------


def test_lanes_hold_one_item_per_segment_and_span_and_seek_to_its_start() -> None:
    bars = [render.Bar("e1", 0.0, 4.0, "pass", "a pass")]
    html = render.timeline_html(
        "vid", 10.0, bars, [], speech=_said("speech", 3), texts=_said("screen_text", 2)
    )
    assert html.count('class="vx-said vx-said-speech"') == 3
    assert html.count('class="vx-said vx-said-text"') == 2
    assert 'data-start="4.000" data-id="speech2"' in html
    assert html.count('class="vx-bar') == 1


def test_an_empty_lane_says_why_and_speech_alone_still_draws_a_timeline() -> None:
    html = render.timeline_html(
        "vid", 10.0, [], [], speech=_said("speech", 1), text_note="No on-screen text: off"
    )
    assert "No events yet" not in html  # speech is on the timeline even with no events
    assert '<span class="vx-lane-empty">No on-screen text: off</span>' in html
    assert "No events yet" in render.timeline_html("vid", 10.0, [], [])


def test_transcript_and_lanes_escape_what_was_said_and_shown() -> None:
    speech, texts = _said("speech", 2, HOSTILE), _said("screen_text", 1, HOSTILE)
    for html in (
        render.transcript_html("vid", speech),
        render.timeline_html("vid", 10.0, [], [], speech=speech, texts=texts),
    ):
        assert "<img" not in html and "<b>" not in html
        assert "&lt;img src=http://127.0.0.1:9/x.png&gt;" in html
        assert "&quot;quote&quot; &amp;" in html


def test_transcript_lines_carry_their_times_in_order() -> None:
    html = render.transcript_html("vid", _said("speech", 3))
    assert html.count('class="vx-line"') == 3
    assert html.index('data-start="0.000"') < html.index('data-start="2.000"')
    assert 'data-end="5.500"' in html and "Transcript · 3 lines" in html
    empty = render.transcript_html("vid", [], empty=("No speech: why", "where it comes from"))
    assert "vx-line" not in empty and "No speech: why" in empty


# -- empty states --------------------------------------------------------------------------


def _ctx(tmp_path: Path, store: Store, **flags: Any) -> Any:
    settings = resolve_settings(
        {"db_path": str(tmp_path / "s.duckdb"), "upload_dir": str(tmp_path / "up"), **flags},
        env={},
        config_path="/dev/null",
    )
    return make_context(settings, store)


def test_no_audio_stream_is_said_first(tmp_path: Path) -> None:
    store = _store_with(tmp_path, has_audio=False, run_settings={"transcriber": "none"})
    title, hint = _ctx(tmp_path, store).speech_absence("vid")
    assert "no audio stream" in title and "sound track" in hint


def test_transcription_off_when_the_video_was_indexed(tmp_path: Path) -> None:
    store = _store_with(tmp_path, run_settings={"transcriber": "none"})
    title, hint = _ctx(tmp_path, store).speech_absence("vid")
    assert "off when this video was indexed" in title
    assert "'none'" in hint and "re-index" in hint


def test_transcription_off_in_the_page_settings(tmp_path: Path) -> None:
    store = _store_with(tmp_path)
    title, _ = _ctx(tmp_path, store, transcriber="off").speech_absence("vid")
    assert title == "No speech: transcription is off"


def test_a_transcriber_that_cannot_run_here_says_why(tmp_path: Path) -> None:
    store = _store_with(tmp_path, run_settings={"transcriber": "local"})
    missing = tmp_path / "no-such-model"
    title, hint = _ctx(tmp_path, store, transcribe_model=str(missing)).speech_absence("vid")
    assert title == "No speech: no transcriber can run here"
    assert "no-such-model" in hint and str(tmp_path) not in hint  # no server folders shown


def test_a_transcriber_that_heard_nothing_is_named(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    store = _store_with(tmp_path, run_settings={"transcriber": "local"})
    title, hint = _ctx(tmp_path, store).speech_absence("vid")
    assert title == "No speech found"
    assert transcriber_class("local").display_name in hint


def test_on_screen_text_off_when_indexed_and_found_nothing(tmp_path: Path) -> None:
    store = _store_with(tmp_path, run_settings={"ocr_engine": "off"})
    title, hint = _ctx(tmp_path, store).text_absence("vid")
    assert "off when this video was indexed" in title and "ocr_engine" in hint
    other = tmp_path / "auto"
    other.mkdir()
    store = _store_with(other, run_settings={"ocr_engine": "auto"})
    ctx = _ctx(other, store)
    title, hint = ctx.text_absence("vid")
    if title.startswith("No on-screen text found"):
        assert "first frame" in hint
    else:  # no OCR engine installed here: the status says what to install
        assert "install" in hint
    title, hint = _ctx(other, store, ocr_engine="off").text_absence("vid")
    assert title == "No on-screen text:" and "off" in hint


# -- captions ------------------------------------------------------------------------------


def test_captions_are_the_exporters_webvtt_served_as_one_file(tmp_path: Path) -> None:
    said = [SpeechSegment(1.0, 2.5, "ask not <what>"), SpeechSegment(3.0, 3.1, "short")]
    store = _store_with(tmp_path, speech=said)
    ctx = _ctx(tmp_path, store)
    info = store.video("vid")
    assert info is not None
    path = ctx.player.captions_for(info, store)
    assert path is not None and path.read_text() == to_webvtt(store, "vid", speech=True)
    assert "ask not &lt;what&gt;" in path.read_text()
    assert path.resolve() in ctx.player._exposed
    assert not any(p.is_dir() for p in ctx.player._exposed)  # never a folder
    ctx.player.withdraw(info)
    assert path.resolve() not in ctx.player._exposed


def test_no_captions_file_when_nothing_was_said(tmp_path: Path) -> None:
    store = _store_with(tmp_path)
    ctx = _ctx(tmp_path, store)
    info = store.video("vid")
    assert info is not None
    assert ctx.player.captions_for(info, store) is None


def test_the_selected_panel_shows_the_words_of_a_segment_as_text(tmp_path: Path) -> None:
    store = _store_with(
        tmp_path,
        speech=[SpeechSegment(1.0, 2.5, HOSTILE)],
        texts=[ScreenText(0.0, 1.0, "Budget **Review**")],
    )
    ctx = _ctx(tmp_path, store)
    (seg,), (shown,) = store.speech("vid"), store.screen_texts("vid")
    said = ctx.selected_markdown("", 1.0, video_id="vid", item_id=seg.id)
    assert said.startswith("**0:01–0:02 · said**")
    assert r"\<img src\=http\:" in said and "](http" not in said
    assert "on screen" in ctx.selected_markdown("", 0.0, video_id="vid", item_id=shown.id)
    assert r"Budget \*\*Review\*\*" in ctx.selected_markdown(
        "", 0.0, video_id="vid", item_id=shown.id
    )
    assert ctx.selected_markdown("", 3.0, video_id="vid", item_id="nope") == "**At 0:03**"
