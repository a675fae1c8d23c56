"""Stemmed, accent-folded search terms, and migration 3 rebuilding an index written before them."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from tests.storefix import start, video_info
from videoidx.qa.retrieve import content_terms
from videoidx.store import Store, search
from videoidx.store.migrations import LATEST_VERSION
from videoidx.store.reindex import rebuild_keyword_index
from videoidx.store.tokenize import query_terms, tokenize, words
from videoidx.types import Character, ClipAnalysis, ClipSpec, Event, ScreenText, SpeechSegment

_OLD_RE = re.compile(r"[^\W_]+")


def old_tokenize(text: str) -> list[str]:
    """The tokenizer of schema version 2, as it shipped: case-folded, split, nothing else."""
    return [t[:64] for t in _OLD_RE.findall(text.casefold())]


def test_inflections_meet_and_accents_fold() -> None:
    assert tokenize("stops stopped STOP stop") == ["stop"] * 4
    assert tokenize("café CAFÉ cafe") == ["cafe"] * 3
    assert tokenize("Zoë's #10 scored in 2024, Straße") == [
        "zoe", "s", "10", "score", "in", "2024", "strass",
    ]  # fmt: skip
    assert tokenize("Crème brûlée") == tokenize("creme brulee")
    # Unstemmed words for stop lists: still folded, never stemmed.
    assert words("Naïve Runners running") == ["naive", "runners", "running"]
    assert query_terms("running runs RUN") == ["run"]
    # Korean syllables survive folding (NFKD splits them, NFC puts them back).
    assert tokenize("한국어 텍스트") == ["한국어", "텍스트"]


def test_the_fast_ascii_split_and_the_shared_stems_change_no_term() -> None:
    # ASCII text skips the regex and stems from a shared dict; the terms must be the ones the
    # regex and Snowball give (the index and old queries were made that way).
    import random
    import string

    import Stemmer

    snowball = Stemmer.Stemmer("english")
    rnd = random.Random(7)
    pieces = [*string.printable, "_", "__", "x" * 70, "Running", "o'clock", "e-mail", "\t\n"]
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 60)))
        folded = [t[:64] for t in _OLD_RE.findall(text.casefold())]
        assert words(text) == folded, text
        assert tokenize(text) == (snowball.stemWords(folded) if folded else []), text


def test_qa_content_terms_are_words_not_stems() -> None:
    # Q&A joins its content words into a query that search() stems; a stem stemmed again
    # can change ("agreed" -> "agre" -> "agr"), so the words must reach search unstemmed.
    assert content_terms("What happened when the teams agreed?") == ["teams", "agreed"]
    assert tokenize(" ".join(content_terms("teams agreed"))) == tokenize("teams agreed")


def _texts() -> dict[str, tuple[list[Event], list[SpeechSegment], list[ScreenText]]]:
    return {
        "vid-a": (
            [
                Event("e1", 1.0, 4.0, "car", "The red car stopped outside the café", ("c1",)),
                Event("e2", 5.0, 9.0, "talk", "Two people talking about running shoes"),
            ],
            [SpeechSegment(2.0, 6.0, "She stopped for a coffee")],
            [ScreenText(0.0, 3.0, "Crème brûlée ½ price")],
        ),
        "vid-b": (
            [Event("e1", 0.0, 2.0, "bus", "A bus waits at the lights")],
            [SpeechSegment(1.0, 2.5, "Nothing about stopping here, just walked")],
            [],
        ),
    }


def _write(store: Store) -> None:
    for vid, (events, speech, shown) in _texts().items():
        store.upsert_video(video_info(vid, title=f"Street {vid}"))
        run = start(store, vid)
        chars = [Character("c1", "Driver Zoë")] if vid == "vid-a" else []
        analysis = ClipAnalysis(events=events, characters=chars, speech=speech, screen_text=shown)
        store.write_clip(run, ClipSpec(vid, 0, 0.0, 10.0), f"{vid}-k", analysis)


def _index_rows(path: Path) -> dict[str, object]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "postings": sorted(
                con.execute(
                    "SELECT t.term, p.doc, p.tf, p.dl FROM postings p JOIN terms t USING (term_id)"
                ).fetchall()
            ),
            "df": sorted(con.execute("SELECT term, df FROM terms WHERE df > 0").fetchall()),
            "stats": con.execute("SELECT n_docs, total_len, next_doc FROM search_stats").fetchall(),
            "lens": sorted(
                con.execute(
                    "SELECT doc, doc_len FROM events UNION ALL SELECT doc, doc_len FROM speech "
                    "UNION ALL SELECT doc, doc_len FROM screen_text"
                ).fetchall()
            ),
        }
    finally:
        con.close()


def _make_version_2(path: Path) -> None:
    """Put the file back as version 2 code left it: old terms, no migration 3 recorded, and
    none of the later migrations' objects (version 4's embedding tables)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("BEGIN TRANSACTION")
        rebuild_keyword_index(con, terms_of=old_tokenize)
        for (table,) in con.execute("SELECT table_name FROM embedding_models").fetchall():
            con.execute(f'DROP TABLE "{table}"')
        con.execute("DROP TABLE embedding_models")
        con.execute("DROP SEQUENCE embedding_model_seq")
        con.execute("DELETE FROM schema_migrations WHERE version >= 3")
        con.execute("COMMIT")
    finally:
        con.close()


def test_a_version_2_store_migrates_and_finds_stems(tmp_path: Path) -> None:
    fresh, old = tmp_path / "fresh.duckdb", tmp_path / "old.duckdb"
    for path in (fresh, old):
        with Store.open(path) as store:
            _write(store)
    _make_version_2(old)
    with duckdb.connect(str(old)) as con:
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchall() == [(2,)]
        # The old index really is unstemmed: "stopped" is a term, "stop" is not.
        terms = {r[0] for r in con.execute("SELECT term FROM terms").fetchall()}
        assert {"stopped", "café", "crème"} <= terms and "stop" not in terms

    with Store.open(old) as store:
        assert store.sql("SELECT max(version) FROM schema_migrations") == [(LATEST_VERSION,)]
        hits = search(store, "stops")
        assert {(h.video_id, h.kind) for h in hits} == {
            ("vid-a", "event"), ("vid-a", "speech"), ("vid-b", "speech"),
        }  # fmt: skip
        assert [h.kind for h in search(store, "cafe")] == ["event"]
        assert [h.label for h in search(store, "creme brulee")] == ["Crème brûlée ½ price"]
        assert [h.label for h in search(store, "zoe")] == ["car"]  # character names too
        assert [h.video_id for h in search(store, "walking")] == ["vid-b"]
        assert search(store, "runs", video_ids=["vid-a"])[0].label == "talk"
    # The rebuilt index is exactly what indexing from scratch with the new tokenizer writes.
    assert _index_rows(old) == _index_rows(fresh)


def test_incremental_writes_after_the_migration_keep_the_index_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store.open(path) as store:
        _write(store)
    _make_version_2(path)
    with Store.open(path) as store:
        run = start(store, "vid-b")
        more = ClipAnalysis(events=[Event("e1", 11.0, 12.0, "bus", "The bus stops for the café")])
        store.write_clip(run, ClipSpec("vid-b", 1, 10.0, 20.0), "vid-b-k2", more)
        stopped = search(store, "stopping", video_ids=["vid-b"])
        assert sorted(h.start_s for h in stopped) == [1.0, 11.0]
        assert {h.video_id for h in search(store, "CAFÉS")} == {"vid-a", "vid-b"}
        # Replacing a clip takes its terms out again (df back to what the other clips hold).
        store.write_clip(
            run, ClipSpec("vid-b", 1, 10.0, 20.0), "vid-b-k2",
            ClipAnalysis(events=[Event("e1", 11.0, 12.0, "bus", "Nothing here")]),
        )  # fmt: skip
        assert [h.video_id for h in search(store, "cafe")] == ["vid-a"]
        bad_df = store.sql(
            "SELECT count(*) FROM terms t LEFT JOIN (SELECT term_id, count(*) n FROM postings "
            "GROUP BY term_id) p USING (term_id) WHERE t.df <> coalesce(p.n, 0)"
        )
        assert bad_df == [(0,)]
