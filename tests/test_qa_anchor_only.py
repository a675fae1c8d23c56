"""A question that is only a time anchor ("what happens right after the blue screen?") answers
with the events in that window, cited, also offline.

The offline answer once found the anchor and gathered the next events, then said "nothing in the
index matches this question": the "right" of "right after" stayed in the words to search for,
matched nothing, and turned the window's events into context. Built on a real indexed video of
known colours (tests/conftest.py: red 0-3 s, blue 3-5.5 s, green 5.5-9 s, yellow 9-12 s).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from videoidx.pipeline.run import index_video
from videoidx.qa import ask
from videoidx.qa.offline import LABEL
from videoidx.qa.timeexpr import parse_time_filter
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store

BLUE_END_S = 5.5
"""Where the blue segment ends and the green one starts (a hard cut)."""


@pytest.fixture(scope="module")
def indexed(
    colour_video: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, Settings]]:
    db = tmp_path_factory.mktemp("anchor") / "colours.duckdb"
    # On-screen text off: the test pattern's digits are read as text, and the offline
    # indexer's "on-screen text" label then matches "screen" in "the blue screen" (a known
    # search-pollution defect, issue 17 item 10). This test is about the anchor's window.
    settings = resolve_settings(
        {"db_path": str(db), "ocr_engine": "off"}, env={}, config_path=os.devnull
    )
    assert index_video(colour_video, settings=settings).status == "done"
    with Store.open(db) as store:
        yield store, settings


@pytest.mark.parametrize(
    "question",
    [
        "What happens right after the blue screen?",
        "What comes next after the blue screen?",
        "what happened immediately after the blue screen",
    ],
)
def test_an_anchor_only_question_answers_with_what_follows_cited(
    indexed: tuple[Store, Settings], question: str
) -> None:
    store, settings = indexed
    answer = ask(question, store=store, settings=settings)
    assert answer.mode == "retrieved", answer.text
    assert answer.text.startswith(LABEL) and "nothing in the index matches" not in answer.text
    assert answer.citations, answer.text
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text
        assert c.start_s >= BLUE_END_S - 0.1, c  # after the blue screen, not the blue screen
    first = min(c.start_s for c in answer.citations)
    assert first == pytest.approx(BLUE_END_S, abs=0.1)  # the very next moment is cited
    green = [c for c in answer.citations if "green" in c.description]
    assert green and green[0].start_s == pytest.approx(BLUE_END_S, abs=0.1), answer.text
    assert "right after" in answer.filters and "0:03-0:05" in answer.filters


def test_a_plain_after_still_starts_at_the_anchor(indexed: tuple[Store, Settings]) -> None:
    """Without "right", "after X" keeps X itself (what happened from X on), as before."""
    store, settings = indexed
    answer = ask("What happens after the blue screen?", store=store, settings=settings)
    assert answer.mode == "retrieved"
    assert any("blue" in c.description for c in answer.citations), answer.text


@pytest.mark.parametrize(
    ("question", "rest", "after", "before", "start_s"),
    [
        ("What happens right after the blue screen?", "What happens ?", "the blue screen", "",
         None),
        ("what comes next after the explosion?", "what ?", "the explosion", "", None),
        ("what did she say just before she leaves?", "what did she say ?", "", "she leaves",
         None),
        ("what happens right after 2:00?", "what happens ?", "", "", 120.0),
    ],
)  # fmt: skip
def test_closeness_words_are_part_of_the_time_expression(
    question: str, rest: str, after: str, before: str, start_s: float | None
) -> None:
    tf = parse_time_filter(question)
    assert (tf.rest, tf.after, tf.before, tf.start_s) == (rest, after, before, start_s)
    assert tf.adjacent is bool(after or before)
