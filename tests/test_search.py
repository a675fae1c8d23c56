"""BM25 timeline search: ranking, filters, incremental updates and hostile queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.storefix import analysis, clip, filled_store, start, video_info
from videoidx.store import Store, search
from videoidx.store.tokenize import MAX_QUERY_TERMS, query_terms, tokenize
from videoidx.types import Character, ClipAnalysis, ClipSpec, Event


def _events_store(path: Path) -> Store:
    """Two videos; 'goal' is common, 'penalty' rare, 'Zoë' only in one event."""
    store = Store.open(path)
    texts = {
        "vid-a": [
            ("goal", "a goal from open play"),
            ("goal", "another goal, a header"),
            ("goal", "goal after a penalty"),
            ("foul", "Zoë is fouled near the box"),
        ],
        "vid-b": [("goal", "late goal"), ("save", "keeper saves a shot"), ("goal", "goal again")],
    }
    for vid, rows in texts.items():
        store.upsert_video(video_info(vid, title=f"Match {vid}"))
        run = start(store, vid)
        events = [
            Event(
                f"e{i}", 10.0 * i, 10.0 * i + 5, label, text, characters=("c1",) if i == 0 else ()
            )
            for i, (label, text) in enumerate(rows)
        ]
        spec = ClipSpec(vid, 0, 0.0, 10.0 * len(rows))
        chars = [Character("c1", "Keeper Kim" if vid == "vid-a" else "Striker Sam")]
        store.write_clip(run, spec, f"{vid}-k", ClipAnalysis(events=events, characters=chars))
    return store


def test_tokenizer_is_unicode_aware_and_keeps_digits() -> None:
    # Folded and stemmed (tests/test_stem.py has the details).
    assert tokenize("Zoë's #10 scored in 2024 — STRAßE, naïve_café 😀") == [
        "zoe", "s", "10", "score", "in", "2024", "strass", "naiv", "cafe",
    ]  # fmt: skip
    assert query_terms("goal GOAL goal") == ["goal"]
    assert len(query_terms(" ".join(f"w{i}" for i in range(500)))) == MAX_QUERY_TERMS


def test_rarer_terms_rank_higher_and_every_hit_is_complete(tmp_path: Path) -> None:
    with _events_store(tmp_path / "s.duckdb") as store:
        hits = search(store, "goal penalty")
        assert hits[0].description == "goal after a penalty"
        assert all(h.score > 0 for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert {h.video_id for h in hits} == {"vid-a", "vid-b"}
        top = hits[0]
        assert (top.title, top.label, top.start_s, top.end_s) == ("Match vid-a", "goal", 20.0, 25.0)
        assert search(store, "ZOË")[0].description.startswith("Zoë")
        assert search(store, "kim")[0].label == "goal"  # character names are searchable


def test_filters(tmp_path: Path) -> None:
    with _events_store(tmp_path / "s.duckdb") as store:
        assert {h.video_id for h in search(store, "goal", video_ids=["vid-b"])} == {"vid-b"}
        assert len(search(store, "goal", video_ids=["vid-a", "vid-b"])) == 5
        assert search(store, "goal", video_ids=[]) == []
        timed = search(store, "goal", start_s=12, end_s=21)
        assert {(h.video_id, h.start_s) for h in timed} == {
            ("vid-a", 10.0),
            ("vid-a", 20.0),
            ("vid-b", 20.0),
        }
        assert [h.label for h in search(store, "", label="SAVE")] == ["save"]
        assert [h.video_id for h in search(store, "goal", character="striker sam")] == ["vid-b"]
        listing = search(store, "", video_ids=["vid-a"])
        assert [h.start_s for h in listing] == [0.0, 10.0, 20.0, 30.0]
        assert all(h.score == 0.0 for h in listing)
        assert len(search(store, "goal", limit=2)) == 2


def test_events_are_searchable_as_soon_as_their_clip_commits(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.upsert_video(video_info())
        run = start(store, "vid-a")
        for i in range(5):
            spec = clip("vid-a", i)
            store.write_clip(run, spec, f"k{i}", analysis(spec, words=f"marker{i}"))
            assert len(search(store, f"marker{i}")) == 2
            assert len(search(store, "striker", limit=100)) == 2 * (i + 1)


def test_unknown_terms_return_nothing(tmp_path: Path) -> None:
    with _events_store(tmp_path / "s.duckdb") as store:
        assert search(store, "zebra crossing") == []
        assert len(search(store, "zebra goal")) == 5  # known terms still count


HOSTILE = [
    "'; DROP TABLE events; --",
    '" OR 1=1 --',
    "goal' OR '1'='1",
    "%",
    "_",
    "\\",
    "?",
    "$1",
    "goal; DELETE FROM postings",
    "😀⚽🥅",
    "ゴール 进球",
    "\x00goal\x00",
    "",
    "   ",
    "goal " * 5000,
    "x" * 10_000,
    "-- /* */ goal",
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_are_harmless(tmp_path: Path, query: str) -> None:
    with filled_store(tmp_path / "s.duckdb", clips=2) as store:
        hits = search(store, query, video_ids=["vid-a"], character="x' OR 1=1", label="'")
        assert hits == []
        hits = search(store, query)
        terms = set(query_terms(query))
        for hit in hits:  # every hit contains a query term, or the query had none (a listing)
            event = store.event(hit.event_id)
            assert event is not None
            text = [event.label, event.description, *event.characters, *event.objects]
            words = set(tokenize(" ".join([*text, event.location, event.on_screen_text])))
            assert (words & terms) if terms else hit.score == 0.0
        assert len(store.events("vid-a")) == 4  # nothing was dropped or deleted
        assert len(search(store, "striker")) == 4


def test_scores_are_finite_for_every_term_of_a_varied_corpus(tmp_path: Path) -> None:
    # Regression: idf literals with many digits once overflowed DuckDB's DECIMAL arithmetic.
    with Store.open(tmp_path / "s.duckdb") as store:
        store.upsert_video(video_info())
        words = [f"w{i}" for i in range(40)]
        events = [
            Event(f"e{i}", float(i), i + 1.0, "x", " ".join(words[: 1 + i % 40] * (1 + i % 5)))
            for i in range(120)
        ]
        store.write_clip(
            start(store, "vid-a"), ClipSpec("vid-a", 0, 0, 120), "k", ClipAnalysis(events=events)
        )
        for word in words:
            for query in (word, f"{word} x"):  # one term (no sum) and several (summed)
                hits = search(store, query, limit=5)
                assert hits and all(0 < h.score < 100 for h in hits)
