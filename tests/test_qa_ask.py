"""``videoidx.ask`` end to end: the story store or a real indexed video, and the fake provider
over HTTP answering from the evidence it is sent (tests/fake_provider.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import videoidx
from indexers.glm import GlmIndexer
from tests.fake_provider import FakeProvider
from tests.qafix import KITCHEN, STREET, story_store
from videoidx.cli import main
from videoidx.errors import ConfigError, MissingKeyError, StoreError
from videoidx.pipeline.run import index_video
from videoidx.qa import LABEL, Answer, ask
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store

KEY = "qa-key-0123456789"
EVIDENCE_LINE = re.compile(r"^\[(\d+)\] \"[^\"]*\" (\d+):(\d\d)-(\d+):(\d\d) ", re.MULTILINE)


def settings_for(db: Path, server: FakeProvider | None = None, **flags: Any) -> Settings:
    provider: dict[str, Any] = {}
    if server is not None:
        provider = {"indexer": "glm", "provider": "zai", "base_url": server.base_url,
                    "model": server.model, "max_retries": 0}  # fmt: skip
    return resolve_settings(
        {"db_path": str(db), **provider, **flags}, env={}, config_path=os.devnull
    )


def glm(settings: Settings) -> GlmIndexer:
    return GlmIndexer(settings, env={"ZAI_API_KEY": KEY}, sleep=lambda _s: None)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "story.duckdb"
    story_store(path).close()
    yield path


def ask_glm(db: Path, server: FakeProvider, question: str, **kwargs: Any) -> Answer:
    settings = settings_for(db, server)
    return ask(question, settings=settings, indexer=glm(settings), **kwargs)


def sent_text(server: FakeProvider) -> str:
    return str(server.requests[-1].body["messages"][1]["content"])


def assert_citations_are_evidence(answer: Answer) -> None:
    evidence = {c.n: c for c in answer.evidence}
    for c in answer.citations:
        assert evidence[c.n] == c and f"[{c.n}]" in answer.text
    assert set(map(int, re.findall(r"\[(\d+)\]", answer.text))) == {c.n for c in answer.citations}


def test_answer_cites_the_evidence_and_is_logged(fake_provider: Any, db: Path) -> None:
    server = fake_provider("zai", api_key=KEY)
    answer = ask_glm(db, server, "why did the car stop?")
    assert answer.mode == "generated" and answer.dropped_citations == 0
    assert {"car stops", "car drives"} <= {c.label for c in answer.citations}
    assert_citations_are_evidence(answer)
    # The causal link that explains the stop was part of what the model was shown.
    assert "causes" in sent_text(server) and "dog runs" in sent_text(server)
    assert answer.usage.requests == 1 and answer.usage.prompt_tokens > 0
    assert answer.model == server.model
    assert server.requests[-1].body["thinking"] == {"type": "disabled"}
    with Store.open(db) as store:
        (logged,) = store.questions()
    assert logged["qa_id"] == answer.qa_id and logged["answer"] == answer.text
    assert logged["video_ids"] == [STREET]
    assert [c["n"] for c in json.loads(logged["citations"])] == [c.n for c in answer.citations]


def test_invented_citation_is_dropped_and_counted(fake_provider: Any, db: Path) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script(["invent_citation"])
    answer = ask_glm(db, server, "why did the car stop?")
    invented = len(answer.evidence) + 7
    assert answer.dropped_citations == 1 and f"[{invented}]" not in answer.text
    assert answer.mode == "generated" and answer.citations
    assert_citations_are_evidence(answer)


def test_temporal_question_sees_only_its_window(fake_provider: Any, db: Path) -> None:
    server = fake_provider("zai", api_key=KEY)
    answer = ask_glm(db, server, "What happened between 5:00 and 7:10?", thinking=True)
    shown = EVIDENCE_LINE.findall(sent_text(server))
    assert len(shown) == len(answer.evidence) == 2  # woman talks (5:10), woman leaves (7:00)
    for _n, m1, s1, m2, s2 in shown:
        start_s, end_s = int(m1) * 60 + int(s1), int(m2) * 60 + int(s2)
        assert end_s > 300 and start_s < 430
    assert answer.filters == "between 5:00 and 7:10"
    assert "Time filters applied: between 5:00 and 7:10" in sent_text(server)
    assert [c.label for c in answer.citations] == ["woman talks", "woman leaves"]
    assert server.requests[-1].body["thinking"] == {"type": "enabled"}
    assert answer.usage.reasoning_tokens >= 0 and answer.mode == "generated"


def test_question_the_index_cannot_answer(fake_provider: Any, db: Path) -> None:
    server = fake_provider("zai", api_key=KEY)
    nothing = ask_glm(db, server, "Is there a giraffe?")
    assert nothing.mode == "unanswerable" and not nothing.citations and not nothing.evidence
    assert "do not answer" in nothing.text and server.requests == []  # nothing to ask about
    # Evidence exists (what happens in that window) but does not answer: the model says so.
    declined = ask_glm(db, server, "Is anyone singing between 5:00 and 6:00?")
    assert len(server.requests) == 1 and [c.label for c in declined.evidence] == ["woman talks"]
    assert declined.mode == "unanswerable" and declined.citations == []
    assert declined.text.startswith("The indexed videos do not answer this: nothing shown")
    assert declined.usage.requests == 1


def test_offline_mode_is_extractive_and_labelled(db: Path) -> None:
    answer = ask("why did the car stop?", settings=settings_for(db))
    assert answer.mode == "retrieved" and answer.text.startswith(LABEL)
    assert answer.usage == videoidx.Usage() and answer.model == ""
    assert {"car stops", "dog runs"} <= {c.label for c in answer.citations}
    assert "Causal chain:" in answer.text
    assert_citations_are_evidence(answer)
    with Store.open(db) as store:
        assert store.questions()[0]["answer"] == answer.text


def test_offline_question_scoped_to_one_video(db: Path) -> None:
    answer = ask("what happened?", settings=settings_for(db), video_ids=[KITCHEN])
    assert [c.label for c in answer.citations] == ["kettle boils", "cat jumps"]
    with pytest.raises(ConfigError, match="not in the store"):
        ask("what happened?", settings=settings_for(db), video_ids=["nope"])


def test_qa_model_and_key_come_from_settings(
    fake_provider: Any, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_provider("zai", api_key=KEY, model="glm-4.5-air")
    settings = settings_for(db, server, model="glm-4.5v", qa_model="glm-4.5-air")
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="ZAI_API_KEY"):
        ask("why did the car stop?", settings=settings)
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    answer = ask("why did the car stop?", settings=settings)
    assert answer.mode == "generated" and answer.model == "glm-4.5-air"
    assert server.requests[-1].body["model"] == "glm-4.5-air"


def test_bad_questions_and_stores_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="question is empty"):
        ask("   ", settings=settings_for(tmp_path / "x.duckdb"))
    with pytest.raises(StoreError, match="no store at"):
        ask("anything?", settings=settings_for(tmp_path / "missing.duckdb"))
    assert not (tmp_path / "missing.duckdb").exists()


def test_ask_is_public_api() -> None:
    assert videoidx.ask is ask and videoidx.Answer is Answer
    assert {"ask", "Answer", "Citation"} <= set(videoidx.__all__)


# -- look again: a real video ------------------------------------------------------------------


@pytest.fixture(scope="module")
def colour_db(colour_video: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The colour video indexed offline (signal-level events, no colours named as 'screen')."""
    folder = tmp_path_factory.mktemp("look")
    video = folder / "colours.mp4"
    shutil.copy(colour_video, video)
    db = folder / "colours.duckdb"
    flags = {"clip_target_s": 3.0, "clip_min_s": 2.0, "clip_max_s": 4.0}
    index_video(video, settings=settings_for(db, **flags))
    return db, video


LOOK_QUESTION = "What is behind the circle between 0:04 and 0:05?"


def test_look_again_answers_from_the_clip_frames(
    fake_provider: Any, colour_db: tuple[Path, Path]
) -> None:
    db, _video = colour_db
    server = fake_provider("zai", api_key=KEY)
    answer = ask_glm(db, server, LOOK_QUESTION, look_again=True)
    assert answer.mode == "looked_again" and len(server.requests) == 1
    (clip,) = answer.citations
    # The clip was added to the evidence; as the only citation it reads [1] (shown order).
    assert clip.event_id is None and clip.n == 1 and clip in answer.evidence
    assert (clip.start_s, clip.end_s) == (3.0, pytest.approx(5.52, abs=0.05))
    assert "blue from 3.0 s" in answer.text  # what the frames of that clip show
    assert server.requests[0].images  # the clip's frames, sampled again from the file


def test_a_declined_answer_looks_again_at_the_best_match(
    fake_provider: Any, colour_db: tuple[Path, Path]
) -> None:
    db, _video = colour_db
    server = fake_provider("zai", api_key=KEY)
    server.script(["decline"])  # the timeline says "blue", the model declines
    answer = ask_glm(db, server, "When is it blue?", look_again=True)
    assert [bool(r.images) for r in server.requests] == [False, True]
    assert answer.mode == "looked_again" and answer.usage.requests == 2
    # The clip looked at is the one citation, so it is [1] and first in the evidence.
    assert answer.citations == [answer.evidence[0]] and answer.evidence[0].event_id is None
    assert "blue from 3.0 s" in answer.text


def test_without_the_file_the_answer_comes_from_the_timeline(
    fake_provider: Any, colour_db: tuple[Path, Path], tmp_path: Path
) -> None:
    db, video = colour_db
    moved = tmp_path / "elsewhere.mp4"
    shutil.move(video, moved)
    try:
        server = fake_provider("zai", api_key=KEY)
        answer = ask_glm(db, server, LOOK_QUESTION, look_again=True)
    finally:
        shutil.move(moved, video)
    assert len(server.requests) == 1 and server.requests[0].images == []
    assert answer.mode == "unanswerable"  # the signal-level events say nothing about a circle


# -- the command line --------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VIDEOIDX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)


def test_cli_offline_text_and_json(
    db: Path, clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "why did the car stop?", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(LABEL)
    assert re.search(r"^\[\d+\] Street 1:56-2:05 \(vid-street\)$", out, re.MULTILINE)
    assert main(["ask", "what happened?", "--db", str(db), "--video", KITCHEN, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "retrieved" and data["qa_id"]
    assert [c["label"] for c in data["citations"]] == ["kettle boils", "cat jumps"]
    assert data["citations"][0]["video_id"] == KITCHEN and data["usage"]["requests"] == 0


def test_cli_with_a_provider(
    fake_provider: Any, db: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    server = fake_provider("zai", api_key=KEY)
    argv = ["ask", "why did the car stop?", "--db", str(db), "--indexer", "glm",
            "--provider", "zai", "--base-url", server.base_url]  # fmt: skip
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    assert main(argv) == 2
    assert "ZAI_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("From the evidence:") and "(generated; glm-4.5v" in out


def test_cli_errors_are_one_line(
    tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "why?", "--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("videoidx: error: no store at") and err.count("\n") == 1
