"""The DuckDB store: transactions, replacement, cascades, migrations, concurrency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from tests.storefix import (
    TABLES_WITH_VIDEO,
    analysis,
    clip,
    count,
    filled_store,
    index_is_consistent,
    jpeg_frame,
    start,
    video_info,
)
from videoidx.errors import SchemaVersionError, StoreError
from videoidx.store import Store, StoredLink, search
from videoidx.store.migrations import LATEST_VERSION
from videoidx.store.tokenize import tokenize
from videoidx.types import CausalLink, ClipAnalysis, Usage

ROOT = Path(__file__).resolve().parent.parent


def test_clip_rows_round_trip(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", clips=2) as store:
        events = store.events("vid-a")
        assert [e.start_s for e in events] == [0.0, 5.0, 10.0, 15.0]
        first = events[0]
        assert first.characters == ("Striker",) and first.objects == ("ball",)
        assert first.location == "pitch" and first.confidence == pytest.approx(0.9)
        links = store.links("vid-a")
        assert len(links) == 2 and all(link.clip_id for link in links)
        assert {(link.cause_id, link.effect_id) for link in links} == {
            (events[0].id, events[1].id),
            (events[2].id, events[3].id),
        }
        apps = store.appearances("vid-a")
        assert len(apps) == 4 and apps[0].box_px == (1.0, 2.0, 30.0, 40.0)
        assert apps[0].event_id == first.id and apps[0].name == "Striker"
        thumb = store.thumbnail(first.id)
        assert thumb is not None and thumb[:2] == b"\xff\xd8"
        assert store.thumbnail("no-such-event") is None
        assert store.video("vid-a") == video_info("vid-a", title="Title vid-a")
        clips = store.clips("vid-a")
        assert [c.event_count for c in clips] == [2, 2]
        assert clips[0].raw_reply == '{"events": []}'
        run = store.run_summary(clips[0].run_id or "")
        assert run is not None and run.status == "done" and run.clips_done == 2 and run.events == 4
        assert run.prompt_tokens == 300
        assert index_is_consistent(store)


def test_rewriting_a_clip_replaces_it(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", clips=2) as store:
        run = start(store, "vid-a")
        spec = clip("vid-a", 0)
        before = store.events("vid-a")
        for _ in range(3):
            store.write_clip(run, spec, "vid-a-k0", analysis(spec), frames=[jpeg_frame(0.0)])
        assert store.events("vid-a") == before
        expected = {"clips": 2, "events": 4, "appearances": 4, "causal_links": 2, "thumbnails": 4}
        for table, n in expected.items():
            assert count(store, f"SELECT count(*) FROM {table}") == n, table
        assert index_is_consistent(store)
        assert len(search(store, "striker")) == 4


def test_new_run_supersedes_overlapping_clips_of_older_runs(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", clips=3) as store:
        run = start(store, "vid-a", model="m2")
        spec = clip("vid-a", 1)  # 10-20 s: replaces only the old clip 1
        store.write_clip(run, spec, "new-k1", analysis(spec, words="volley", n_events=3))
        clips = store.clips("vid-a")
        assert [(c.start_s, c.cache_key) for c in clips] == [
            (0.0, "vid-a-k0"),
            (10.0, "new-k1"),
            (20.0, "vid-a-k2"),
        ]
        assert len(store.events("vid-a")) == 2 + 3 + 2
        # A cached clip adopted by the new run stays; a finished run drops the rest.
        store.adopt_clip(run, "vid-a-k0")
        store.finish_run(run, "done", Usage())
        assert [c.cache_key for c in store.clips("vid-a")] == ["vid-a-k0", "new-k1"]
        assert {c.run_id for c in store.clips("vid-a")} == {run}
        assert index_is_consistent(store)
        hits = search(store, "volley")
        assert len(hits) == 3 and all(h.description.startswith("clip 1") for h in hits)


def test_failed_clip_is_recorded_and_retried(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.upsert_video(video_info())
        run = start(store, "vid-a")
        spec = clip("vid-a", 0)
        store.write_clip(
            run, spec, "k0", ClipAnalysis(raw_reply="garbage"), status="failed", error="bad JSON"
        )
        assert store.cached_clip("k0") is None
        (failed,) = store.clips("vid-a")
        assert (failed.status, failed.error, failed.raw_reply) == ("failed", "bad JSON", "garbage")
        store.write_clip(run, spec, "k0", analysis(spec))
        cached = store.cached_clip("k0")
        assert cached is not None and cached.status == "done" and cached.event_count == 2
        assert len(store.clips("vid-a")) == 1


def test_a_bad_reference_leaves_the_previous_clip_intact(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", clips=1) as store:
        before = (
            store.events("vid-a"),
            store.links("vid-a"),
            store.sql("SELECT * FROM search_stats"),
        )
        spec = clip("vid-a", 0)
        bad = analysis(spec, words="unicorn")
        bad.links.append(CausalLink("e1", "e99"))  # e99 does not exist: fails after the deletes
        with pytest.raises(StoreError, match="e99"):
            store.write_clip(start(store, "vid-a"), spec, "vid-a-k0", bad)
        assert (
            store.events("vid-a"),
            store.links("vid-a"),
            store.sql("SELECT * FROM search_stats"),
        ) == before
        assert search(store, "unicorn") == []
        assert index_is_consistent(store)


def test_delete_video_removes_everything_hanging_off_it(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", video_ids=("vid-a", "vid-b"), clips=2) as store:
        store.write_shots("vid-a", [])
        ids = [c.id for c in store.clip_characters("vid-a")]
        store.write_characters("vid-a", [_Group("Striker", "", tuple(ids), 0.0)], provenance="rule")
        events = store.events("vid-a")
        store.write_links(
            "vid-a", [StoredLink(events[1].id, events[2].id, "enables")], provenance="model:x"
        )
        store.log_question(
            "who scored?", "the striker", [{"video_id": "vid-a"}], video_ids=["vid-a"]
        )
        store.log_question("both?", "yes", [], video_ids=["vid-a", "vid-b"])
        other = store.events("vid-b")
        assert store.delete_video("vid-a")
        for table in TABLES_WITH_VIDEO:
            assert count(store, f"SELECT count(*) FROM {table} WHERE video_id = 'vid-a'") == 0, (
                table
            )
        assert store.events("vid-b") == other
        assert [q["question"] for q in store.questions()] == ["both?"]
        assert store.questions()[0]["video_ids"] == ["vid-b"]
        assert index_is_consistent(store)
        assert {h.video_id for h in search(store, "striker")} == {"vid-b"}
        assert not store.delete_video("vid-a")


class _Group:
    def __init__(
        self, name: str, description: str, member_ids: tuple[str, ...], first: float
    ) -> None:
        self.name, self.description, self.member_ids, self.first_seen_s = (
            name,
            description,
            member_ids,
            first,
        )


def test_consolidation_writes_characters_and_cross_clip_links(tmp_path: Path) -> None:
    with filled_store(tmp_path / "s.duckdb", clips=2) as store:
        members = store.clip_characters("vid-a")
        assert len(members) == 2 and members[0].name == "Striker"
        for _ in range(2):  # re-running consolidation replaces, never duplicates
            (cid,) = store.write_characters(
                "vid-a",
                [_Group("Striker", "no. 9", tuple(m.id for m in members), 0.0)],
                provenance="rule:names-v1",
            )
        (merged,) = store.characters("vid-a")
        assert merged.id == cid and set(merged.member_ids) == {m.id for m in members}
        assert len(store.appearances("vid-a", character_id=cid)) == 4
        briefs = store.event_briefs("vid-a")
        link = StoredLink(briefs[1].id, briefs[2].id, "enables", "keeps possession", 0.5)
        store.write_links("vid-a", [link], provenance="model:glm")
        store.write_links("vid-a", [link], provenance="model:glm")
        cross = [x for x in store.links("vid-a") if x.clip_id is None]
        assert [(x.cause_id, x.effect_id, x.provenance) for x in cross] == [
            (briefs[1].id, briefs[2].id, "model:glm")
        ]
        with pytest.raises(StoreError, match="not stored"):
            store.write_links("vid-a", [StoredLink("nope", briefs[0].id)], provenance="x")
        assert len(store.links("vid-a")) == 3  # the failed write changed nothing
        assert search(store, "", character="Striker", video_ids=["vid-a"])


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store.open(path).close()
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO schema_migrations VALUES (?, 'from_the_future', now())", [LATEST_VERSION + 1]
    )
    con.close()
    with pytest.raises(SchemaVersionError, match="upgrade videoidx"):
        Store.open(path)
    with pytest.raises(SchemaVersionError):
        Store.open(path, read_only=True)


def test_migrations_are_recorded_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    for _ in range(2):
        with Store.open(path) as store:
            assert store.sql("SELECT max(version) FROM schema_migrations") == [(LATEST_VERSION,)]
    with Store.open(path, read_only=True) as store:
        assert store.list_videos() == []
        with pytest.raises(StoreError, match="read-only"):
            store.upsert_video(video_info())


def test_timeline_view_is_plain_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    filled_store(path, clips=1).close()
    con = duckdb.connect(str(path), read_only=True)
    rows = con.sql("SELECT title, label, characters FROM timeline ORDER BY start_s").fetchall()
    con.close()
    assert rows == [("Title vid-a", "pass", ["Striker"]), ("Title vid-a", "shot", ["Striker"])]


def test_reader_sees_only_committed_clips_and_is_not_blocked(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.upsert_video(video_info())
        run = start(store, "vid-a")
        stop = threading.Event()
        seen: list[int] = []
        waits: list[float] = []
        errors: list[BaseException] = []

        def reader() -> None:
            try:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    # One snapshot per query: clips and their events must agree (2 per clip).
                    clips, events = store.sql(
                        "SELECT (SELECT count(*) FROM clips), (SELECT count(*) FROM events)"
                    )[0]
                    assert events == 2 * clips
                    assert len(search(store, "striker", limit=1000)) % 2 == 0
                    waits.append(time.perf_counter() - t0)
                    seen.append(events)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        for i in range(40):
            spec = clip("vid-a", i)
            store.write_clip(run, spec, f"k{i}", analysis(spec))
        time.sleep(0.05)
        stop.set()
        thread.join(10)
        assert not errors, errors
        assert seen == sorted(seen) and seen[-1] == 80 and len(seen) > 3
        assert max(waits) < 2.0  # generous: a blocked reader would wait for the whole write loop


def test_second_process_cannot_open_a_file_held_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store.open(path):
        code = textwrap.dedent(
            f"""
            from videoidx.store import Store
            from videoidx.errors import StoreError
            try:
                Store.open({str(path)!r}, read_only=True)
            except StoreError as exc:
                print("refused:", exc)
            """
        )
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    assert "refused:" in out.stdout and "Another process" in out.stdout


WRITER = """
import sys
from tests.storefix import analysis, clip, start, video_info
from videoidx.store import Store
store = Store.open(sys.argv[1])
store.upsert_video(video_info())
run = start(store, "vid-a")
i = 0
while True:
    spec = clip("vid-a", i)
    store.write_clip(run, spec, f"k{i}", analysis(spec, n_events=1 + i % 7))
    print(i, flush=True)
    i += 1
"""


def test_sigkill_mid_write_leaves_every_clip_whole_or_absent(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for _ in range(25):  # let it commit some clips, then kill it mid-loop
        proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    with Store.open(path) as store:
        clips = store.clips("vid-a")
        assert len(clips) >= 25
        for c in clips:
            expected = 1 + c.clip_index % 7
            assert c.event_count == expected
            assert count(
                store, "SELECT count(*) FROM causal_links WHERE clip_id = ?", [c.clip_id]
            ) == (1 if expected > 1 else 0)
            assert (
                count(store, "SELECT count(*) FROM appearances WHERE clip_id = ?", [c.clip_id])
                == expected
            )
        assert index_is_consistent(store)
        assert len(search(store, "striker", limit=1000)) == sum(c.event_count for c in clips)


def test_named_reads_for_the_page_and_the_pipeline(tmp_path: Path) -> None:
    """The reads that replaced ad-hoc SQL outside the store: each sees what was written."""
    with Store.open(tmp_path / "s.duckdb") as store:
        assert store.cost_by_video() == {}
        before = store.library_fingerprint()
        store.upsert_video(video_info("vid-named"))
        first = start(store, "vid-named")
        assert store.previous_run_status("vid-named", first) is None
        spec = clip("vid-named", 0)
        store.write_clip(first, spec, "k0", analysis(spec, words="kettle", n_events=3))
        store.finish_run(first, "partial", Usage(cost_usd=0.25))
        second = start(store, "vid-named")
        assert store.previous_run_status("vid-named", second) == "partial"
        assert store.previous_run_status("vid-named", first) == "running"
        assert store.cost_by_video() == {"vid-named": pytest.approx(0.25)}
        assert store.library_fingerprint() != before
        size = store.index_size()
        assert size.events == size.search_docs == 3
        assert size.postings == count(store, "SELECT count(*) FROM postings") > 0
        df = store.term_document_frequencies()
        assert df[tokenize("kettle")[0]] == 3
        assert len(df) == count(store, "SELECT count(*) FROM terms")
