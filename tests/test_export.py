"""Exports: JSON round trip, WebVTT/SRT cues, chapters, Parquet, and the CLI commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from tests.storefix import filled_store, index_is_consistent
from videoidx.cli import main
from videoidx.errors import StoreError
from videoidx.store import Store, search
from videoidx.store.export import (
    export_json,
    export_parquet,
    import_json,
    timeline_document,
    to_chapters,
    to_srt,
    to_webvtt,
)
from videoidx.types import ShotCut


def test_json_round_trip_reproduces_the_rows(tmp_path: Path) -> None:
    with filled_store(tmp_path / "a.duckdb", video_ids=("vid-a", "vid-b"), clips=2) as store:
        store.write_shots("vid-a", [ShotCut(75, 3.0, 0.9), ShotCut(200, 8.0, 0.7)])
        members = store.clip_characters("vid-a")
        store.write_characters("vid-a", [_Group(tuple(m.id for m in members))], provenance="rule")
        original = timeline_document(store, "vid-a")
        out = export_json(store, "vid-a", tmp_path / "vid-a.json")
    assert original["events"] and original["thumbnails"] and original["characters"]
    with Store.open(tmp_path / "b.duckdb") as fresh:
        assert import_json(fresh, out) == "vid-a"
        assert timeline_document(fresh, "vid-a") == original
        assert len(search(fresh, "striker")) == 4
        assert import_json(fresh, out) == "vid-a"  # importing twice replaces
        assert timeline_document(fresh, "vid-a") == original
        assert index_is_consistent(fresh)
    with pytest.raises(StoreError, match="not a videoidx timeline"):
        (tmp_path / "x.json").write_text('{"hello": 1}')
        with Store.open(tmp_path / "b.duckdb") as fresh:
            import_json(fresh, tmp_path / "x.json")


class _Group:
    name, description, first_seen_s = "Striker", "no. 9", 0.0

    def __init__(self, member_ids: tuple[str, ...]) -> None:
        self.member_ids = member_ids


CUE_TIME = r"\d\d:\d\d:\d\d[.,]\d\d\d"


def test_webvtt_and_srt_cues(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", clips=2) as store:
        vtt = to_webvtt(store, "vid-a")
        srt = to_srt(store, "vid-a")
        chapters = to_chapters(store, "vid-a")
        store.write_shots("vid-a", [ShotCut(75, 3.0), ShotCut(250, 10.0)])
        shot_chapters = to_chapters(store, "vid-a")
        with pytest.raises(StoreError, match="not in store"):
            to_webvtt(store, "nope")
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:05.000\npass\nclip 0 event 1\n")
    assert vtt.count(" --> ") == 4
    blocks = srt.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["1", "2", "3", "4"]
    assert blocks[3].splitlines()[1] == "00:00:15,000 --> 00:00:20,000"
    assert all(re.fullmatch(f"{CUE_TIME} --> {CUE_TIME}", b.splitlines()[1]) for b in blocks)
    assert "00:00:00.000 --> 00:00:10.000\nclip 0 summary" in chapters
    assert shot_chapters.count(" --> ") == 3
    assert "3\n00:00:10.000 --> 00:02:00.000\nShot 3" in shot_chapters


def test_srt_cues_carry_no_tags_a_player_would_render(tmp_path: Path) -> None:
    from dataclasses import replace

    from tests import storefix

    hostile = '<font color="red">red</font> <i>it</i> <img src=http://a/x.png> 2 < 3 > 1'
    with Store.open(tmp_path / "s.duckdb") as store:
        store.upsert_video(storefix.video_info())
        run = storefix.start(store, "vid-a")
        spec = storefix.clip("vid-a", 0)
        analysis = storefix.analysis(spec, n_events=1)
        analysis.events[0] = replace(analysis.events[0], label="<b>goal</b>", description=hostile)
        store.write_clip(run, spec, "k0", analysis)
        srt = to_srt(store, "vid-a")
        vtt = to_webvtt(store, "vid-a")
    cue_text = "\n".join(srt.strip().splitlines()[2:])
    assert "<" not in cue_text and ">" not in cue_text, cue_text
    # The words stay readable: the brackets become look-alikes no player treats as markup.
    assert "‹b›goal‹/b›" in cue_text and "2 ‹ 3 › 1" in cue_text and "red" in cue_text
    assert "&lt;b&gt;goal&lt;/b&gt;" in vtt  # WebVTT escapes them, as before


def test_parquet_holds_every_table(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", video_ids=("vid-a", "vid-b"), clips=2) as store:
        files = export_parquet(store, "vid-a", tmp_path / "pq")
    names = {f.name for f in files}
    assert {"videos.parquet", "events.parquet", "clips.parquet", "causal_links.parquet"} <= names
    con = duckdb.connect()
    events = con.execute(
        "SELECT DISTINCT video_id FROM read_parquet(?)", [str(tmp_path / "pq" / "events.parquet")]
    )
    assert events.fetchall() == [("vid-a",)]
    rows = con.execute(
        "SELECT count(*) FROM read_parquet(?)", [str(tmp_path / "pq" / "events.parquet")]
    )
    assert rows.fetchall() == [(4,)]


def test_cli_search_export_videos_delete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cli.duckdb"
    filled_store(db, video_ids=("vid-a", "vid-b"), clips=1).close()
    monkeypatch.setenv("VIDEOIDX_DB", str(db))
    assert main(["search", "striker", "--video", "vid-b", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {x["video_id"] for x in lines} == {"vid-b"} and len(lines) == 2
    assert set(lines[0]) == {
        "event_id",
        "video_id",
        "title",
        "start_s",
        "end_s",
        "label",
        "description",
        "score",
        "kind",
    }
    assert main(["search", "'; DROP TABLE events; --", "--from", "1", "--to", "2"]) == 0
    # Words, not SQL: "events" stems to "event", which the descriptions hold (plain hits).
    assert "clip 0 event 1" in capsys.readouterr().out
    assert main(["export", "vid-a", "--format", "srt", "--out", str(tmp_path / "a.srt")]) == 0
    assert (tmp_path / "a.srt").read_text().startswith("1\n00:00:00,000 --> ")
    assert main(["export", "vid-a", "--format", "vtt"]) == 0
    assert capsys.readouterr().out.startswith("WEBVTT")
    assert main(["export", "vid-a", "--format", "json", "--out", str(tmp_path / "a.json")]) == 0
    assert main(["delete", "vid-a"]) == 0
    assert main(["delete", "vid-a"]) == 2
    assert main(["import", str(tmp_path / "a.json")]) == 0
    capsys.readouterr()
    assert main(["videos", "--json"]) == 0
    assert sorted(v["video_id"] for v in json.loads(capsys.readouterr().out)) == ["vid-a", "vid-b"]
    assert main(["search", "striker", "--db", str(tmp_path / "missing.duckdb")]) == 2
    assert "no store" in capsys.readouterr().err


def test_a_library_copy_is_the_whole_library_as_of_one_moment(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", video_ids=("vid-a", "vid-b"), clips=2) as store:
        copy = store.copy_to(tmp_path / "copy.duckdb")
        # Later writes are not in it, and a second copy never overwrites a file.
        store.delete_video("vid-b")
        with pytest.raises(StoreError, match="exists"):
            store.copy_to(copy)
        live = {v.video_id for v in store.list_videos()}
    assert live == {"vid-a"}
    with Store.open(copy, read_only=True) as snap:
        assert {v.video_id for v in snap.list_videos()} == {"vid-a", "vid-b"}
        hits = search(snap, "", video_ids=["vid-b"], limit=50)
        assert len(hits) == 4 and index_is_consistent(snap)


def test_parquet_carries_each_models_vectors_of_the_video(tmp_path: Path) -> None:
    import numpy as np

    from videoidx.store import vectors as vec

    rng = np.random.default_rng(4)
    with filled_store(tmp_path / "s.duckdb", video_ids=("vid-a", "vid-b"), clips=2) as store:
        written = {}
        for key, dims in (("test:a:4", 4), ("test:b:6", 6)):
            model = vec.ensure_model(store, key, "test", key, dims)
            pending = vec.missing_docs(store, model)
            vectors = rng.standard_normal((len(pending), dims)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            vec.write_vectors(store, model, pending, vectors)
            written[key] = (model.table, dims)
        files = export_parquet(store, "vid-a", tmp_path / "pq")
        items = {
            r[0] for r in store.sql("SELECT item_id FROM search_docs WHERE video_id = 'vid-a'")
        }
    con = duckdb.connect()
    for key, (table, dims) in written.items():
        path = tmp_path / "pq" / f"{table}.parquet"
        assert path in files
        rows = con.execute(
            "SELECT DISTINCT model_key, len(vector) FROM read_parquet(?)", [str(path)]
        ).fetchall()
        assert rows == [(key, dims)]
        found = {
            r[0] for r in con.execute("SELECT item_id FROM read_parquet(?)", [str(path)]).fetchall()
        }
        assert found == items  # this video's documents, every one, no other video's


def test_open_sql_reads_the_file_and_says_what_to_do_when_another_process_holds_it(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys
    import time

    import videoidx

    db = tmp_path / "s.duckdb"
    filled_store(db, video_ids=("vid-a",), clips=2).close()
    with videoidx.open_sql(db) as con:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(4,)]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(db)!r}); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait until the other process holds the lock: a plain connect fails from then on.
        for _ in range(100):
            try:
                duckdb.connect(str(db), read_only=True).close()
            except duckdb.IOException:
                break
            time.sleep(0.1)
        with (
            pytest.raises(StoreError, match=r"Another process .* probably holds it"),
            videoidx.open_sql(db),
        ):
            pass
    finally:
        holder.communicate("", timeout=30)
