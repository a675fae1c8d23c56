"""Speech and on-screen text through the real pipeline: real faster-whisper tiny.en and RapidOCR.

The video is built here: a Pillow-drawn title slide, then a blank one, with JFK's 11 s sentence
(``../shared/media/speech/fw_jfk.flac``) muxed in starting at :data:`SPEECH_AT_S`, so where each
word is said and where the title is shown is known on the video's own clock.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from indexers.transcribers.local import LocalTranscriber
from tests.slides import Slide, make_slides_video
from videoidx.cli import main
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.pipeline.run import index_video
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store, search

JFK = Path(__file__).resolve().parents[1] / ".." / "shared" / "media" / "speech" / "fw_jfk.flac"
SPEECH_AT_S = 6.0
"""Where the sentence starts in the video (its first word about 0.3 s later)."""
TITLE = "Quarterly Budget Review"
SLIDES = (Slide((TITLE,), 5.0), Slide(("",), 15.0))

pytestmark = pytest.mark.skipif(not JFK.is_file(), reason="shared speech media missing")


def make_talk(folder: Path) -> Path:
    """``folder/talk.mp4``: the title slide, then JFK from :data:`SPEECH_AT_S`; the same slides
    without sound are ``folder/slides.mp4``."""
    silent = make_slides_video(folder / "slides.mp4", SLIDES)
    out = folder / "talk.mp4"
    delay_ms = round(SPEECH_AT_S * 1000)
    run_ffmpeg(
        [
            "-y", "-i", str(silent), "-i", str(JFK),
            "-filter_complex", f"[1:a]adelay={delay_ms}:all=1,apad[a]",
            "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac", "-shortest", str(out),
        ],
        what="muxing speech into the slides",
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_talk(tmp_path_factory.mktemp("talk"))


def offline(db: Path, **flags: Any) -> Settings:
    return resolve_settings({"db_path": str(db), **flags}, env={}, config_path=os.devnull)


@pytest.fixture
def transcriptions(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The start of every span the real local model is asked to transcribe."""
    calls: list[float] = []
    real = LocalTranscriber.transcribe

    def counting(self: LocalTranscriber, samples: Any, start_s: float, **kw: Any) -> Any:
        calls.append(start_s)
        return real(self, samples, start_s, **kw)

    monkeypatch.setattr(LocalTranscriber, "transcribe", counting)
    return calls


def test_what_is_said_and_shown_is_found_at_its_time_and_not_transcribed_twice(
    talk: Path, tmp_path: Path, transcriptions: list[float]
) -> None:
    db = tmp_path / "talk.duckdb"
    settings = offline(db)
    first = index_video(talk, settings=settings)
    assert first.status == "done", first
    assert transcriptions, "the local model was never asked"
    with Store.open(db) as store:
        spoken = [h for h in search(store, "country") if h.kind == "speech"]
        assert spoken, search(store, "country")
        hit = spoken[0]
        assert hit.video_id == first.video_id
        assert SPEECH_AT_S - 0.5 <= hit.start_s < hit.end_s <= SPEECH_AT_S + 11.5
        assert "country" in hit.label.lower()
        words = store.sql("SELECT words FROM speech WHERE speech_id = ?", [hit.event_id])[0][0]
        assert '"country' in words.lower() or " country" in words.lower()
        shown = [h for h in search(store, "budget review") if h.kind == "screen_text"]
        assert shown, search(store, "budget review")
        assert shown[0].start_s < 5.0 and "budget" in shown[0].label.lower()
        assert not [h for h in search(store, "budget") if h.kind == "screen_text" and h.start_s > 6]

    transcriptions.clear()
    again = index_video(talk, settings=settings)
    assert again.status == "done"
    assert again.clips_cached == first.clips_total and again.clips_analysed == 0
    assert transcriptions == []  # a re-run transcribes nothing again
    with Store.open(db) as store:
        assert len([h for h in search(store, "country") if h.kind == "speech"]) == len(spoken)

    srt = tmp_path / "talk.srt"
    args = ["export", first.video_id, "--format", "srt", "--speech", "--db", str(db)]
    assert main([*args, "--out", str(srt)]) == 0
    cues = srt.read_text().split("\n\n")
    assert "country" in srt.read_text().lower() and "lectern" not in srt.read_text()
    first_cue = cues[0].splitlines()
    assert first_cue[0] == "1"
    hh, mm, ss = first_cue[1].split(" --> ")[0].replace(",", ".").split(":")
    cue_start_s = int(hh) * 3600 + int(mm) * 60 + float(ss)
    assert SPEECH_AT_S - 0.5 <= cue_start_s <= SPEECH_AT_S + 1.0, first_cue  # the words' time
    assert "fellow americans" in first_cue[2].lower()


def test_an_answer_cites_the_moment_it_was_said(talk: Path, tmp_path: Path) -> None:
    import videoidx

    db = tmp_path / "talk.duckdb"
    settings = offline(db)
    index_video(talk, settings=settings)
    answer = videoidx.ask("what did he say about the country?", settings=settings)
    said = [c for c in answer.citations if c.label == "said"]
    assert said, answer
    assert "country" in said[0].description.lower()
    assert SPEECH_AT_S - 0.5 <= said[0].start_s < said[0].end_s <= SPEECH_AT_S + 11.5


def test_the_vision_model_gets_the_transcript_as_quoted_data(talk: Path, tmp_path: Path) -> None:
    from indexers.glm import GlmIndexer
    from indexers.glm.prompt import PROMPT_VERSION
    from tests.fake.server import user_items
    from tests.fake_provider import FakeProvider

    with FakeProvider("zai") as server:
        settings = resolve_settings(
            {
                "db_path": str(tmp_path / "glm.duckdb"),
                "indexer": "glm",
                "provider": "zai",
                "base_url": server.base_url,
                "model": server.model,
                "max_retries": 0,
            },
            env={},
            config_path=os.devnull,
        )
        indexer = GlmIndexer(settings, env={"ZAI_API_KEY": "fake-key-0123456789"})
        result = index_video(talk, settings=settings, indexer=indexer)
        assert result.status == "done", result
        texts = [
            item["text"]
            for r in server.requests
            if r.images
            for item in user_items(r.body)
            if item.get("type") == "text"
        ]
    assert PROMPT_VERSION == "glm-index-2"
    speech = [t for t in texts if '<data label="speech">' in t]
    assert speech, texts
    block = speech[0].split('<data label="speech">', 1)[1].split("</data>", 1)[0]
    assert "country" in block.lower()  # the words are inside the quoted block, with times
    first_line = block.strip().splitlines()[0]
    start_s = float(first_line.split("-", 1)[0])
    assert SPEECH_AT_S - 0.5 <= start_s <= SPEECH_AT_S + 11.0  # absolute seconds
    assert any('<data label="on screen text">' in t and "Budget" in t for t in texts)
