"""``index_many`` on the local engine: several videos at once, into one store, by one writer.

What a user indexing an archive relies on: the same rows as indexing the videos one by one, a
bad file reported while the others finish, a re-run that sends nothing, one concurrency limit
for the whole batch, a bad key that stops the batch, and a cancel that stops it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fake_provider import FakeProvider
from tests.test_pipeline import CLIP_FLAGS, KEY, clip_calls, glm_settings
from videoidx.errors import VideoNotFoundError
from videoidx.pipeline.bulk import expand_videos, index_many
from videoidx.pipeline.progress import Progress
from videoidx.pipeline.run import index_video
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store


def local_settings(db: Path, **flags: Any) -> Settings:
    return resolve_settings(
        {"db_path": str(db), **CLIP_FLAGS, **flags}, env={}, config_path=os.devnull
    )


def timeline_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What a reader of the store sees, without run ids and insertion order."""
    queries = {
        "videos": "SELECT video_id, title, duration_s FROM videos ORDER BY video_id",
        "clips": "SELECT clip_id, video_id, start_s, end_s, status FROM clips ORDER BY clip_id",
        "events": "SELECT event_id, video_id, start_s, end_s, label, description FROM events "
        "ORDER BY event_id",
        "shots": "SELECT * FROM shots ORDER BY ALL",
    }
    with Store.open(db) as store:
        return {name: store.sql(q) for name, q in queries.items()}


def test_parallel_engine_stores_what_index_video_stores(
    three_videos: list[Path], tmp_path: Path
) -> None:
    paths = three_videos
    seen: list[Progress] = []
    results = index_many(
        paths, settings=local_settings(tmp_path / "many.duckdb"), workers=2, progress=seen.append
    )
    assert [r.status for r in results] == ["done"] * 3, results
    assert [r.path for r in results] == [str(p) for p in paths]
    assert all(r.clips_analysed == r.clips_total >= 1 and r.events > 0 for r in results)
    last = {p.video_id: p for p in seen}
    assert {r.video_id for r in results} == set(last)
    assert all(p.stage == "done" for p in last.values())

    one_by_one = local_settings(tmp_path / "one.duckdb")
    singles = [index_video(p, settings=one_by_one) for p in paths]
    assert [(r.video_id, r.clips_total, r.events) for r in results] == [
        (r.video_id, r.clips_total, r.events) for r in singles
    ]
    assert timeline_rows(tmp_path / "many.duckdb") == timeline_rows(tmp_path / "one.duckdb")


def test_a_corrupt_file_in_a_folder_is_reported_and_the_others_finish(
    small_videos: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    for video in small_videos:
        (folder / video.name).write_bytes(video.read_bytes())
    (folder / "c_broken.mp4").write_bytes(os.urandom(4096))
    (folder / "notes.txt").write_text("not a video, and not picked up")
    seen: list[Progress] = []
    results = index_many(
        str(folder),
        settings=local_settings(tmp_path / "c.duckdb"),
        workers=2,
        progress=seen.append,
    )
    assert [Path(r.path).name for r in results] == ["a_sunrise.mp4", "b_night.mp4", "c_broken.mp4"]
    assert [r.status for r in results] == ["done", "done", "failed"]
    assert "c_broken.mp4" in results[2].error
    assert any(p.stage == "failed" and p.title == "c_broken" for p in seen)
    with Store.open(tmp_path / "c.duckdb") as store:
        assert {v.video_id for v in store.list_videos()} == {r.video_id for r in results[:2]}


def test_globs_and_folders_expand_to_sorted_video_files(tmp_path: Path) -> None:
    for name in ("b.MP4", "a.mkv", "c.txt", "sub/d.mov"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in expand_videos(tmp_path)] == ["a.mkv", "b.MP4"]
    assert [p.name for p in expand_videos(str(tmp_path / "**" / "*.mov"))] == ["d.mov"]
    # Named files stay as given (a missing one is reported by the run, with the others).
    assert expand_videos([tmp_path / "gone.mp4"]) == [tmp_path / "gone.mp4"]
    with pytest.raises(VideoNotFoundError, match="no video files"):
        expand_videos(str(tmp_path / "*.avi"))


def test_one_concurrency_limit_for_the_batch_and_a_rerun_sends_nothing(
    three_videos: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    paths = three_videos
    with FakeProvider("zai", latency_s=0.3) as server:
        settings = glm_settings(server, tmp_path / "g.duckdb", concurrency=3)
        first = index_many(paths, settings=settings, workers=2)
        assert [r.status for r in first] == ["done"] * 3, first
        # Clips of different videos share the limit: never more than 3 requests at once.
        assert 2 <= server.max_active <= 3
        assert len(clip_calls(server)) == sum(r.clips_total for r in first)
        assert sum(r.usage.requests for r in first) == len(server.requests)

        sent = len(server.requests)
        again = index_many(paths, settings=settings, workers=2)
        assert [r.status for r in again] == ["done"] * 3
        assert all(r.clips_cached == r.clips_total and r.clips_analysed == 0 for r in again)
        assert len(server.requests) == sent  # not one clip, not one consolidation call
    with Store.open(tmp_path / "g.duckdb") as store:
        # Consolidation still happened once per video: the moving pattern is one character.
        assert len(store.characters(first[0].video_id)) == 1


def test_a_bad_key_stops_the_whole_batch(
    three_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    with FakeProvider("zai") as server:
        server.script(["401:1001"] * 20)
        settings = glm_settings(server, tmp_path / "k.duckdb", concurrency=1)
        results = index_many(three_videos, settings=settings, workers=2)
        assert [r.status for r in results] == ["failed"] * 3
        assert all("1001" in r.error for r in results), results
        assert len(server.requests) == 1  # no other clip, of any video, is sent


def test_cancel_stops_the_batch_and_keeps_what_finished(
    three_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    cancel = threading.Event()

    def stop_after_first_clip(p: Progress) -> None:
        if p.clips_done >= 1:
            cancel.set()

    with FakeProvider("zai", latency_s=0.2) as server:
        settings = glm_settings(server, tmp_path / "x.duckdb", concurrency=1)
        results = index_many(
            three_videos,
            settings=settings,
            workers=2,
            progress=stop_after_first_clip,
            cancel=cancel,
        )
        # The clip in flight when cancel came is stored; nothing after it is sent.
        assert len(clip_calls(server)) <= 2
    assert [r.status for r in results] == ["cancelled"] * 3
    assert sum(r.clips_analysed for r in results) == len(clip_calls(server))
    with Store.open(tmp_path / "x.duckdb") as store:
        statuses = store.sql("SELECT status FROM index_runs")
    assert statuses and all(s == ("cancelled",) for s in statuses)


def test_cli_indexes_a_folder_with_workers(
    small_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from videoidx.cli import main

    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)
    monkeypatch.chdir(ROOT)
    db = tmp_path / "cli.duckdb"
    assert main(["index", "--db", str(db), "--workers", "2", str(small_videos[0].parent)]) == 0
    with Store.open(db) as store:
        assert len(store.list_videos()) == len(small_videos)


def test_the_cost_cap_holds_for_the_whole_batch(
    three_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_pipeline import glm

    monkeypatch.setenv("ZAI_API_KEY", KEY)
    with FakeProvider("zai") as server:
        probe_settings = glm_settings(server, tmp_path / "cap.duckdb")
        per_clip = glm(probe_settings).estimate_usage([(448, 336)] * 4, 3.0).cost_usd
        settings = probe_settings.replace(max_cost_usd=per_clip * 1.5, concurrency=1)
        results = index_many(three_videos, settings=settings, workers=2)
        # One cap for all videos: a cap per video would let each of the three send a clip.
        assert len(clip_calls(server)) == sum(r.clips_analysed for r in results) <= 2
    assert "stopped" in {r.status for r in results}
    assert all(r.status in ("done", "stopped") for r in results)


def test_the_same_content_under_two_names_is_indexed_once(
    small_videos: list[Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy_of_sunrise.mp4"
    copy.write_bytes(small_videos[0].read_bytes())
    db = tmp_path / "dup.duckdb"
    results = index_many([small_videos[0], copy], settings=local_settings(db), workers=2)
    assert [r.status for r in results] == ["done", "done"]
    assert results[0].video_id == results[1].video_id
    # Whichever name two workers probe first is indexed; the other is reported, not re-indexed.
    indexed, skipped = sorted(results, key=lambda r: "same content as" in r.error)
    assert "same content as" in skipped.error and skipped.clips_total == 0
    assert indexed.error == "" and indexed.clips_total > 0
    with Store.open(db) as store:
        runs = store.sql("SELECT count(*) FROM index_runs")[0][0]
    assert runs == 1


def test_a_media_worker_that_dies_costs_only_its_video(
    small_videos: list[Path], tmp_path: Path
) -> None:
    import multiprocessing
    import signal
    import time

    from videoidx.media.synth import Segment, make_video
    from videoidx.pipeline.bulk import ProcessSource
    from videoidx.pipeline.media_worker import MediaEnded, Probed, ProbeFailed
    from videoidx.settings import MediaSettings

    # Long enough that the worker is still sampling it when it is killed.
    long_video = make_video(tmp_path / "long.mp4", [Segment("red", 30.0), Segment("blue", 30.0)])
    source = ProcessSource([long_video, small_videos[0]], MediaSettings(), workers=1)
    ends: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 60
        while not source.exhausted and time.monotonic() < deadline:
            message = source.next(0.05)
            if isinstance(message, Probed):
                for child in multiprocessing.active_children():
                    os.kill(child.pid or 0, signal.SIGKILL)  # the OOM killer, say
            if isinstance(message, MediaEnded | ProbeFailed):
                ends[message.job] = message.error
    finally:
        source.stop()
    assert source.exhausted
    assert "died (exit code -9)" in ends[0], ends
    assert "no media worker was left" in ends[1], ends
