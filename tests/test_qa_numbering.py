"""Answers number their citations [1], [2], [3] in the order they are shown (issue 17, item 4).

Evidence is numbered in retrieval order, so an offline answer used to read "[6] ... [2] ... [8]".
The numbering is done once, in the answer builder, so the CLI, the page and notebooks agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.qafix import story_store
from videoidx.cli import main
from videoidx.qa import Citation, ask
from videoidx.qa.answer import number_in_order
from videoidx.settings import resolve_settings
from videoidx.store import Store


def cite(n: int, label: str) -> Citation:
    return Citation(n=n, video_id="v", title="T", start_s=float(n), end_s=n + 1.0,
                    event_id=f"e{n}", label=label)  # fmt: skip


def numbers_shown(text: str) -> list[int]:
    """Every citation number in the order the text shows it (first use only)."""
    return list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", text)))


def test_numbers_follow_the_order_shown_and_keep_pointing_at_the_same_moment() -> None:
    evidence = [cite(n, f"event {n}") for n in range(1, 10)]
    cited = [evidence[5], evidence[1], evidence[7]]  # [6], [2], [8]
    text = "First [6], then [2][8], and [6] again; a [2, 8] pair."
    new_text, new_cited, new_evidence = number_in_order(text, cited, evidence)
    assert new_text == "First [1], then [2][3], and [1] again; a [2, 3] pair."
    assert [(c.n, c.label) for c in new_cited] == [(1, "event 6"), (2, "event 2"), (3, "event 8")]
    # Evidence and citations agree on every number; the uncited evidence follows, in order.
    by_n = {c.n: c for c in new_evidence}
    assert all(by_n[c.n] == c for c in new_cited)
    assert [c.label for c in new_evidence[3:]] == [f"event {n}" for n in (1, 3, 4, 5, 7, 9)]
    assert sorted(by_n) == list(range(1, 10))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "story.duckdb"
    story_store(path).close()
    return path


QUESTIONS = ("why did the car stop?", "what happens after the explosion?", "the woman in red")


@pytest.mark.parametrize("question", QUESTIONS)
def test_an_offline_answer_reads_one_two_three(db: Path, question: str) -> None:
    answer = ask(question, settings=resolve_settings({"db_path": str(db)}, env={}))
    assert answer.citations, answer.text
    shown = numbers_shown(answer.text)
    assert shown == list(range(1, len(shown) + 1)), answer.text
    assert [c.n for c in answer.citations] == shown
    evidence = {c.n: c for c in answer.evidence}
    assert all(evidence[c.n] == c for c in answer.citations)
    with Store.open(db) as store:
        (logged,) = store.questions(limit=1)
    assert [c["n"] for c in json.loads(logged["citations"])] == shown


def test_the_cli_prints_the_same_numbers(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDEOIDX_CONFIG", "/dev/null")
    assert main(["ask", QUESTIONS[0], "--db", str(db), "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    shown = numbers_shown(data["answer"] if "answer" in data else data["text"])
    assert [c["n"] for c in data["citations"]] == shown == list(range(1, len(shown) + 1))
