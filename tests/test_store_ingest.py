"""The bulk write path: postings counted in numpy, rows inserted as typed columns.

Each test checks the stored search index against a plain recount of what the stored documents
say, so a posting given the wrong term, document, term frequency or length fails it.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np

from tests.storefix import analysis, clip, count, start, video_info
from videoidx.store import ClipWrite, Store, search
from videoidx.store.rows import code_tokens, event_terms, postings
from videoidx.store.tokenize import tokenize
from videoidx.types import ClipAnalysis, Event, ScreenText, SpeechSegment
from videoidx.vocab import ClipStatus

WORDS = ["goal", "Goal", "GOAL!", "straße", "STRASSE", "café", "7", "naïve", "ball", "北京"]


def _plain(
    docs: list[int], lists: list[list[str]]
) -> tuple[set[tuple[int, str, int, int]], Counter[str]]:
    """Postings and df by a plain count of the stemmed terms of each document."""
    stemmed = [tokenize(" ".join(words)) for words in lists]
    rows = {
        (doc, term, tf, len(terms))
        for doc, terms in zip(docs, stemmed, strict=True)
        for term, tf in Counter(terms).items()
    }
    return rows, Counter(term for terms in stemmed for term in set(terms))


def test_postings_match_a_plain_count() -> None:
    rng = random.Random(3)
    # "stops", "stopped" and "stop" are three words but one term: their counts must add up.
    vocab = [f"w{i}" for i in range(40)] + ["e", "北京", "x" * 64, "stops", "stopped", "stop"]
    lists = [[rng.choice(vocab) for _ in range(rng.randint(0, 30))] for _ in range(300)]
    lists[5] = []  # a document with no terms at all
    lists[6] = ["same"] * 9  # one term many times
    lists[7] = ["stops", "stop", "stopped", "w1"]
    docs = [1000 + 3 * i for i in range(len(lists))]  # numbers need not be consecutive
    tokens = code_tokens(docs, lists)
    assert len(set(tokens.terms)) == len(tokens.terms)
    assert "stop" in tokens.terms and "stops" not in tokens.terms
    # Store ids in no relation to the batch's order: the rows must still come out by id.
    ids = np.random.default_rng(1).permutation(len(tokens.terms)) * 7 + 5
    p = postings(tokens, ids)
    name = {int(i): t for i, t in zip(ids, tokens.terms, strict=True)}
    got = [
        (int(d), name[int(t)], int(tf), int(dl))
        for t, d, tf, dl in zip(p.term_id, p.doc, p.tf, p.dl, strict=True)
    ]
    want, df = _plain(docs, lists)
    assert set(got) == want
    assert len(got) == len(want)  # one row per (term, document), no duplicates
    assert (1021, "stop", 3, 4) in got  # lists[7]: three words of one term, and "w1"
    pairs = list(zip(p.term_id.tolist(), p.doc.tolist(), strict=True))
    assert pairs == sorted(pairs)  # sorted by term id, then document
    assert {t: int(n) for t, n in zip(tokens.terms, p.df, strict=True)} == dict(df)


def test_postings_of_nothing() -> None:
    tokens = code_tokens([], [])
    assert tokens.terms == [] and len(tokens.code) == 0
    tokens = code_tokens([4, 5], [[], []])
    p = postings(tokens, np.empty(0, dtype=np.int64))
    assert tokens.terms == [] and len(p.term_id) == len(p.doc) == len(p.df) == 0


def _varied(spec_index: int, vid: str, rng: random.Random) -> ClipWrite:
    spec = clip(vid, spec_index)
    base = analysis(spec, n_events=rng.randint(1, 5))
    events = [
        Event(
            key=e.key,
            start_s=e.start_s,
            end_s=e.end_s,
            label=e.label,
            description=" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))),
            characters=e.characters,
            objects=tuple(rng.sample(WORDS, 2)),
            location=rng.choice(["", "pitch", "Straße 7"]),
            on_screen_text=rng.choice(["", "GOAL 2-1"]),
            # A column that starts with a number and holds a None must still store both.
            confidence=None if i == 1 else 0.5 + i / 10,
        )
        for i, e in enumerate(base.events)
    ]
    speech = [SpeechSegment(spec.start_s, spec.start_s + 1, "the goal, the GOAL café")]
    text = [ScreenText(spec.start_s, spec.start_s + 2, "Straße 7 北京", 0.8, (1, 2, 3, 4))]
    return ClipWrite(
        spec,
        f"{vid}-k{spec_index}",
        ClipAnalysis(
            events=events,
            characters=base.characters,
            appearances=base.appearances,
            links=[link for link in base.links if len(events) > 1],
            speech=speech,
            screen_text=text,
            speech_engine="test",
        ),
    )


def _recount(store: Store) -> tuple[set[tuple[int, str, int, int]], Counter[str]]:
    docs: list[int] = []
    lists: list[list[str]] = []
    for doc, label, desc, chars, objs, loc, screen in store.sql(
        "SELECT doc, label, description, characters, objects, location, on_screen_text FROM events"
    ):
        docs.append(doc)
        lists.append(event_terms(label, desc, chars, objs, loc, screen))
    for doc, text in store.sql(
        "SELECT doc, text FROM speech UNION ALL SELECT doc, text FROM screen_text"
    ):
        docs.append(doc)
        lists.append(tokenize(text))
    return _plain(docs, lists)


def _stored(store: Store) -> tuple[set[tuple[int, str, int, int]], Counter[str]]:
    rows = store.sql(
        "SELECT p.doc, t.term, p.tf, p.dl FROM postings p JOIN terms t USING (term_id)"
    )
    assert len(rows) == len(set(rows))
    df = Counter({t: n for t, n in store.sql("SELECT term, df FROM terms") if n})
    return {tuple(r) for r in rows}, df  # type: ignore[misc]


def test_batches_rewrites_and_deletes_keep_the_index_equal_to_a_recount(tmp_path: Path) -> None:
    rng = random.Random(11)
    with Store.open(tmp_path / "s.duckdb") as store:
        for vid in ("vid-a", "vid-b"):
            store.upsert_video(video_info(vid))
        # Three bulk batches sharing terms with each other, then single clips on top.
        for batch in range(3):
            items = [_varied(batch * 10 + i, vid, rng) for i in range(6) for vid in ("vid-a",)]
            items.append(_varied(batch, "vid-b", rng))
            store.write_clips(None, items)
        run = start(store, "vid-a")
        for i in range(3):
            item = _varied(100 + i, "vid-a", rng)
            store.write_clip(run, item.clip, item.cache_key, item.analysis)
        failed = _varied(200, "vid-a", rng)
        store.write_clip(
            run, failed.clip, failed.cache_key, failed.analysis, status=ClipStatus.FAILED
        )
        # The same clip written again replaces its documents; another video goes away.
        again = _varied(1, "vid-a", rng)
        store.write_clips(None, [again])
        assert store.delete_video("vid-b")

        assert _stored(store) == _recount(store)
        docs = (
            "SELECT doc, doc_len FROM events UNION ALL SELECT doc, doc_len FROM speech "
            "UNION ALL SELECT doc, doc_len FROM screen_text"
        )
        assert (
            store.sql("SELECT n_docs, total_len FROM search_stats")[0]
            == store.sql(f"SELECT count(*), sum(doc_len) FROM ({docs})")[0]
        )
        assert count(store, "SELECT count(*) FROM terms") == count(
            store, "SELECT count(DISTINCT term) FROM terms"
        )
        # A None among numbers stays NULL, the numbers stay numbers.
        confidences = {c for (c,) in store.sql("SELECT confidence FROM events")}
        assert None in confidences and 0.5 in confidences
        # Folded spellings meet in one term, found in events, speech and on-screen text.
        kinds = {h.kind for h in search(store, "strasse", limit=200)}
        assert len(kinds) >= 2


def test_bulk_and_one_by_one_writes_index_the_same(tmp_path: Path) -> None:
    items = [_varied(i, "vid-a", random.Random(i)) for i in range(12)]
    with Store.open(tmp_path / "bulk.duckdb") as bulk, Store.open(tmp_path / "one.duckdb") as one:
        for store in (bulk, one):
            store.upsert_video(video_info("vid-a"))
        bulk.write_clips(None, items)
        for item in items:
            one.write_clips(None, [item])
        assert _stored(bulk) == _stored(one) == _recount(bulk)
        hits = [(h.event_id, round(h.score, 9)) for h in search(bulk, "goal café", limit=50)]
        assert hits == [(h.event_id, round(h.score, 9)) for h in search(one, "goal café", limit=50)]
        assert hits
