"""Evidence for questions, from a store with a known story (tests/qafix.py); citation checks and
the offline answer built from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.qafix import KITCHEN, STREET, story_store
from videoidx.pipeline.consolidate import CharacterGroup
from videoidx.qa.answer import check_citations
from videoidx.qa.offline import LABEL, extractive_answer
from videoidx.qa.records import Citation
from videoidx.qa.retrieve import Evidence, gather_evidence
from videoidx.qa.timeexpr import parse_time_filter
from videoidx.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = story_store(tmp_path_factory.mktemp("qa") / "story.duckdb")
    yield s
    s.close()


def gather(store: Store, question: str, **kwargs: object) -> Evidence:
    return gather_evidence(store, question, parse_time_filter(question), **kwargs)  # type: ignore[arg-type]


def labels(ev: Evidence) -> list[str]:
    return [c.label for c in ev.items]


def test_hits_bring_their_causes_and_neighbours(store: Store) -> None:
    ev = gather(store, "why did the car stop?")
    by_label = {c.label: c for c in ev.items}
    assert {"car stops", "dog runs"} <= set(by_label)
    assert ev.kinds[by_label["car stops"].n] == "match"
    assert ev.kinds[by_label["dog runs"].n] == "linked"  # found only through the causal link
    assert (by_label["dog runs"].n, by_label["car stops"].n) in [(c, e) for c, e, *_ in ev.links]
    # Numbered 1..n in time order, every item carrying where it is.
    assert [c.n for c in ev.items] == list(range(1, len(ev.items) + 1))
    assert [c.start_s for c in ev.items] == sorted(c.start_s for c in ev.items)
    assert all(c.video_id == STREET and c.title == "Street" and c.event_id for c in ev.items)


def test_character_names_resolve_to_their_appearances(store: Store) -> None:
    ev = gather(store, "when does the woman in red first appear?")
    found = [c for c in ev.items if ev.kinds[c.n] == "character"]
    assert [c.start_s for c in found] == [40.0, 310.0, 420.0]
    assert ev.primary()[0].start_s == 40.0  # the first appearance ranks first


def test_merged_and_clip_names_both_find_the_character(tmp_path: Path) -> None:
    with story_store(tmp_path / "merged.duckdb") as store:
        members = tuple(c.id for c in store.clip_characters(STREET))
        store.write_characters(
            STREET, [CharacterGroup("Anna", "red coat", members, 40.0)], provenance="test"
        )
        assert (STREET, "Anna", f"{STREET}:ch1") in store.character_names([STREET])
        assert store.character_names([KITCHEN]) == []
        for question in ("where does Anna go?", "when does the woman in red first appear?"):
            ev = gather(store, question)
            found = [c.start_s for c in ev.items if ev.kinds[c.n] == "character"]
            assert found == [40.0, 310.0, 420.0], question


@pytest.mark.parametrize(
    ("question", "start_s", "end_s", "expected"),
    [
        ("what happened between 5:00 and 6:00?", 300, 360, ["woman talks"]),
        ("what happened in the first minute?", 0, 60,
         ["car drives", "woman enters", "kettle boils"]),
        ("what happens after 7:00?", 420, None, ["woman leaves", "street empty"]),
        ("what happened after the explosion?", 250, None,
         ["explosion", "crowd runs", "woman talks", "woman leaves", "street empty"]),
        ("what did she do before she leaves?", None, 440,
         ["car drives", "woman enters", "dog runs", "car stops", "explosion", "crowd runs",
          "woman talks", "woman leaves"]),
        ("did the car stop between 0:00 and 1:00?", 0, 60, ["car drives", "woman enters"]),
    ],
)  # fmt: skip
def test_time_expressions_filter_the_evidence(
    store: Store, question: str, start_s: float | None, end_s: float | None, expected: list[str]
) -> None:
    ev = gather(store, question)
    assert sorted(labels(ev)) == sorted(expected)
    for c in ev.items:
        assert start_s is None or c.end_s > start_s, c
        assert end_s is None or c.start_s < end_s, c


def test_anchor_narrows_to_its_video_and_says_so(store: Store) -> None:
    ev = gather(store, "what happened after the explosion?")
    assert {c.video_id for c in ev.items} == {STREET}
    assert ev.readings == ["after explosion at 4:10"]
    missing = gather(store, "what happened after the unicorn?")
    assert missing.items == [] and "not found" in missing.readings[0]


def test_last_seconds_are_per_video(store: Store) -> None:
    ev = gather(store, "what happens in the last 30 seconds?")
    assert labels(ev) == ["street empty"]  # the kitchen's last 30 s hold nothing
    assert [(w.video_ids, w.start_s) for w in ev.windows] == [
        ((STREET,), 570.0),
        ((KITCHEN,), 90.0),
    ]


def test_scope_and_cap(store: Store) -> None:
    assert labels(gather(store, "what happened?", video_ids=[KITCHEN])) == [
        "kettle boils",
        "cat jumps",
    ]
    capped = gather(store, "what did she do before she leaves?", max_evidence=3)
    assert [c.n for c in capped.items] == [1, 2, 3]
    assert gather(store, "is there a giraffe?").items == []


def _cite(n: int) -> Citation:
    return Citation(n, STREET, "Street", 10.0 * n, 10.0 * n + 5, f"ev{n}", f"label {n}")


@pytest.mark.parametrize(
    ("reply", "text", "cited", "dropped", "answered"),
    [
        ("The car stops [2] because of the dog [1].", "The car stops [2] because of the dog [1].",
         [2, 1], 0, True),
        ("It stops [2] [9].", "It stops [2].", [2], 1, True),
        ("It stops [2, 9] and [7][1].", "It stops [2] and [1].", [2, 1], 2, True),
        ("It stops [9].", None, [], 1, False),
        ("It stops, trust me.", None, [], 0, False),
        ("NOT IN EVIDENCE: nothing about a giraffe.",
         "The indexed videos do not answer this: nothing about a giraffe.", [], 0, False),
        ("**Not in evidence**: no giraffe [4].",
         "The indexed videos do not answer this: no giraffe.", [], 1, False),
    ],
)  # fmt: skip
def test_citations_are_checked_against_the_evidence(
    reply: str, text: str | None, cited: list[int], dropped: int, answered: bool
) -> None:
    checked = check_citations(reply, [_cite(1), _cite(2), _cite(3)])
    assert [c.n for c in checked.citations] == cited
    assert (checked.dropped, checked.answered) == (dropped, answered)
    if text is not None:
        assert checked.text == text
    else:
        assert checked.text.startswith("No answer found") and "[" not in checked.text


def test_offline_answer_lists_matches_and_their_causal_chain(store: Store) -> None:
    ev = gather(store, "why did the car stop?")
    text, cited = extractive_answer(ev)
    assert text.startswith(LABEL)
    by_label = {c.label: c for c in cited}
    assert {"car stops", "dog runs"} <= set(by_label)
    dog, car = by_label["dog runs"].n, by_label["car stops"].n
    assert f"[{dog}] dog runs causes [{car}] car stops (the dog is in the car's path)" in text
    for c in cited:  # every citation is in the text and in the evidence
        assert f"[{c.n}]" in text and c in ev.items


def test_offline_answer_for_a_window_lists_it_in_order(store: Store) -> None:
    text, cited = extractive_answer(gather(store, "what happened after the explosion?"))
    assert [c.label for c in cited][:2] == ["explosion", "crowd runs"]
    assert text.index("explosion") < text.index("street empty")
    text, cited = extractive_answer(gather(store, "is there a giraffe?"))
    assert cited == [] and text == f"{LABEL} nothing in the index matches this question."


def test_unmatched_words_in_a_window_bring_context_not_matches(store: Store) -> None:
    ev = gather(store, "is anyone singing between 5:00 and 6:00?")
    assert labels(ev) == ["woman talks"] and ev.kinds == {1: "context"}
    assert ev.thin and ev.primary() == []
    text, cited = extractive_answer(ev)  # offline, context is not an answer
    assert cited == [] and "nothing in the index matches" in text
