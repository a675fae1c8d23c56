"""Speech and on-screen text in the store: written with their clip, searchable, removed with it."""

from __future__ import annotations

from pathlib import Path

from tests.storefix import count, start, video_info
from videoidx.store import Store, search
from videoidx.types import ClipAnalysis, ClipSpec, Event, ScreenText, SpeechSegment, Word


def _index_matches_docs(store: Store) -> bool:
    """The BM25 bookkeeping matches every searchable row (events, speech, on-screen text)."""
    n_docs, total_len = store.sql("SELECT n_docs, total_len FROM search_stats")[0]
    docs, lengths = store.sql(
        "SELECT count(*), coalesce(sum(doc_len), 0) FROM (SELECT doc_len FROM events "
        "UNION ALL SELECT doc_len FROM speech UNION ALL SELECT doc_len FROM screen_text)"
    )[0]
    orphans = count(
        store, "SELECT count(*) FROM postings WHERE doc NOT IN (SELECT doc FROM search_docs)"
    )
    return (n_docs, total_len) == (docs, lengths) and not orphans


def _analysis() -> ClipAnalysis:
    return ClipAnalysis(
        events=[Event("e1", 10.0, 12.0, "talking", "a man at a lectern")],
        speech=[
            SpeechSegment(
                11.0,
                14.5,
                "ask what you can do for your country",
                words=(Word(11.0, 11.4, "ask", 0.9), Word(13.9, 14.5, "country", 0.8)),
                language="en",
                confidence=0.8,
            )
        ],
        speech_engine="local",
        speech_model="tiny.en",
        screen_text=[ScreenText(10.0, 20.0, "Inaugural Address", 0.95, (1.0, 2.0, 3.0, 4.0))],
        text_engine="rapidocr",
    )


def test_speech_and_screen_text_are_stored_with_the_clip_and_ranked_with_events(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.upsert_video(video_info("vid-a"))
        run = start(store, "vid-a")
        spec = ClipSpec("vid-a", 0, 10.0, 20.0)
        store.write_clip(run, spec, "k1", _analysis())
        (hit,) = search(store, "country")
        assert (hit.kind, hit.video_id, hit.start_s, hit.end_s) == ("speech", "vid-a", 11.0, 14.5)
        assert "your country" in hit.label
        (hit,) = search(store, "inaugural")
        assert (hit.kind, hit.start_s, hit.end_s) == ("screen_text", 10.0, 20.0)
        assert search(store, "lectern")[0].kind == "event"
        # Filters that are about events keep only events.
        assert search(store, "country", label="talking") == []
        assert search(store, "country", video_ids=["other"]) == []
        assert search(store, "country", start_s=15.0) == []
        words = store.sql("SELECT words, engine, model, language FROM speech")[0]
        assert '"country"' in words[0] and words[1:] == ("local", "tiny.en", "en")
        assert _index_matches_docs(store)
        # Re-writing the clip (same id) replaces its speech, never doubles it.
        store.write_clip(run, spec, "k1", _analysis())
        assert count(store, "SELECT count(*) FROM speech") == 1
        assert _index_matches_docs(store)
        store.delete_video("vid-a")
        assert search(store, "country") == []
        assert count(store, "SELECT count(*) FROM screen_text") == 0
        assert _index_matches_docs(store)


def test_the_page_shows_a_speech_hit_with_the_words_said(tmp_path: Path) -> None:
    from ui.context import _hit_cells

    with Store.open(tmp_path / "s.duckdb") as store:
        store.upsert_video(video_info("vid-a"))
        store.write_clip(start(store, "vid-a"), ClipSpec("vid-a", 0, 10.0, 20.0), "k1", _analysis())
        (said,) = search(store, "country")
        (shown,) = search(store, "inaugural")
        (event,) = search(store, "lectern")
    assert _hit_cells(said) == ["said", "\u201cask what you can do for your country\u201d"]
    assert _hit_cells(shown) == ["on screen", "\u201cInaugural Address\u201d"]
    assert _hit_cells(event) == ["talking", "a man at a lectern"]


def test_speech_goes_out_as_subtitles_json_and_parquet_and_comes_back(tmp_path: Path) -> None:
    import duckdb

    from videoidx.store.export import export_json, export_parquet, import_json, to_srt, to_webvtt

    with Store.open(tmp_path / "a.duckdb") as store:
        store.upsert_video(video_info("vid-a"))
        store.write_clip(start(store, "vid-a"), ClipSpec("vid-a", 0, 10.0, 20.0), "k1", _analysis())
        srt = to_srt(store, "vid-a", speech=True)
        assert srt == "1\n00:00:11,000 --> 00:00:14,500\nask what you can do for your country\n"
        assert "00:00:11.000 --> 00:00:14.500\nask what" in to_webvtt(store, "vid-a", speech=True)
        assert "lectern" in to_srt(store, "vid-a")  # without --speech: the events, as before
        export_json(store, "vid-a", tmp_path / "a.json")
        export_parquet(store, "vid-a", tmp_path / "pq")
    rows = duckdb.sql(f"SELECT text FROM read_parquet('{tmp_path / 'pq' / 'speech.parquet'}')")
    assert rows.fetchall() == [("ask what you can do for your country",)]
    with Store.open(tmp_path / "b.duckdb") as other:
        assert import_json(other, tmp_path / "a.json") == "vid-a"
        (said,) = search(other, "country")
        (shown,) = search(other, "inaugural")
        assert (said.kind, said.start_s, shown.kind) == ("speech", 11.0, "screen_text")
        assert '"country"' in other.sql("SELECT words FROM speech")[0][0]
        assert _index_matches_docs(other)
