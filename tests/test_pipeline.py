"""The indexing pipeline end to end: real video, real DuckDB file, real (fake) provider over HTTP.

What a user relies on: results stored per clip as they finish, re-runs that cost nothing,
a run killed with SIGKILL that resumes with zero duplicates and zero tokens spent twice, failed
clips retried next time, a cost cap that stops starting clips, and a concurrency limit that holds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from indexers.glm import GlmIndexer
from tests.conftest import COLOUR_SEGMENTS, ROOT
from tests.fake_provider import FakeProvider
from videoidx.media.synth import can_speak, segment_starts_s
from videoidx.pipeline.bulk import index_many
from videoidx.pipeline.progress import Progress
from videoidx.pipeline.run import index_video
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store

KEY = "fake-key-0123456789"
# Short clips so the 12 s colour video makes several: the pipeline's behaviour, not its speed.
CLIP_FLAGS: dict[str, Any] = {
    "clip_target_s": 3.0,
    "clip_min_s": 2.0,
    "clip_max_s": 4.0,
    "frame_max_gap_s": 1.0,
}


def glm_settings(server: FakeProvider, db: Path, **flags: Any) -> Settings:
    return resolve_settings(
        {
            "db_path": str(db),
            "indexer": "glm",
            "provider": "zai",
            "base_url": server.base_url,
            "model": server.model,
            "max_retries": 0,
            **CLIP_FLAGS,
            **flags,
        },
        env={},
        config_path=os.devnull,
    )


def glm(settings: Settings) -> GlmIndexer:
    return GlmIndexer(settings, env={"ZAI_API_KEY": KEY}, sleep=lambda _s: None)


def clip_calls(server: FakeProvider) -> list[Any]:
    """Requests that carried frames (consolidation's text-only calls carry none)."""
    return [r for r in server.requests if r.images]


def event_rows(db: Path) -> list[tuple[Any, ...]]:
    with Store.open(db) as store:
        return store.sql("SELECT clip_id, start_s, end_s, label FROM events ORDER BY start_s")


def test_local_indexer_run_then_rerun_costs_nothing(colour_video: Path, tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    settings = resolve_settings({"db_path": str(db), **CLIP_FLAGS}, env={}, config_path=os.devnull)
    seen: list[Progress] = []
    first = index_video(colour_video, settings=settings, progress=seen.append)
    assert first.status == "done", first
    assert first.clips_total >= 3 and first.clips_analysed == first.clips_total
    assert first.events > 0
    assert seen[-1].stage == "done" and seen[-1].clips_done == first.clips_total
    rows = event_rows(db)
    assert len(rows) == first.events
    assert all(0.0 <= r[1] <= r[2] <= 12.1 for r in rows)
    with Store.open(db) as store:
        cut_times = [c.time_s for c in store.shots(first.video_id)]
    assert cut_times == pytest.approx(segment_starts_s(COLOUR_SEGMENTS)[1:], abs=0.05)

    again = index_video(colour_video, settings=settings)
    assert again.status == "done"
    assert again.clips_cached == first.clips_total and again.clips_analysed == 0
    assert event_rows(db) == rows  # replaced by nothing, duplicated by nothing


def test_glm_run_is_concurrent_and_times_are_absolute(colour_video: Path, tmp_path: Path) -> None:
    with FakeProvider("zai", latency_s=0.3) as server:
        settings = glm_settings(server, tmp_path / "g.duckdb", concurrency=3)
        result = index_video(colour_video, settings=settings, indexer=glm(settings))
        assert result.status == "done", result
        assert len(clip_calls(server)) == result.clips_total >= 3
        assert 2 <= server.max_active <= 3
        # Consolidation's text calls are paid too, and counted.
        assert result.usage.requests == len(server.requests) > result.clips_total
        assert result.usage.prompt_tokens > 0 and result.usage.cost_usd > 0
    with Store.open(tmp_path / "g.duckdb") as store:
        events = store.events(result.video_id)
        characters = store.characters(result.video_id)
    # The fake sees the moving pattern in more than one clip; consolidation makes it one.
    assert len(characters) == 1, characters
    starts = sorted({round(e.start_s) for e in events if "screen" in e.label})
    # Each colour change is found within one sampling interval (1 s), in absolute seconds.
    for boundary in segment_starts_s(COLOUR_SEGMENTS):
        assert any(abs(s - boundary) <= 1.0 for s in starts), (boundary, starts)


def test_failed_clip_is_stored_and_retried_next_run(colour_video: Path, tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    with FakeProvider("zai") as server:
        settings = glm_settings(server, db, concurrency=1)
        server.script(["ok", "500"])  # the second clip fails; retries are off
        first = index_video(colour_video, settings=settings, indexer=glm(settings))
        assert first.status == "partial"
        assert first.clips_failed == 1 and first.clips_analysed == first.clips_total - 1
        assert "clip 1" in first.clip_errors[0] and "500" in first.clip_errors[0]
        with Store.open(db) as store:
            failed = [c for c in store.clips(first.video_id) if c.status == "failed"]
        assert len(failed) == 1 and failed[0].error

        sent_before = len(clip_calls(server))
        second = index_video(colour_video, settings=settings, indexer=glm(settings))
        assert second.status == "done"
        assert len(clip_calls(server)) - sent_before == 1  # only the failed clip is sent again
        assert second.clips_cached == first.clips_total - 1


def test_bad_key_stops_the_run_early(colour_video: Path, tmp_path: Path) -> None:
    with FakeProvider("zai") as server:
        settings = glm_settings(server, tmp_path / "a.duckdb", concurrency=1)
        server.script(["401:1001"] * 10)
        result = index_video(colour_video, settings=settings, indexer=glm(settings))
        assert result.status == "failed"
        assert "1001" in result.error or "auth" in result.error.lower()
        assert len(server.requests) == 1  # no point sending the other clips


def test_missing_key_fails_before_any_work(colour_video: Path, tmp_path: Path) -> None:
    from videoidx.errors import MissingKeyError

    with FakeProvider("zai") as server:
        settings = glm_settings(server, tmp_path / "k.duckdb")
        indexer = GlmIndexer(settings, env={})
        with pytest.raises(MissingKeyError, match="ZAI_API_KEY"):
            index_video(colour_video, settings=settings, indexer=indexer)
        assert server.requests == []


def test_cost_cap_stops_starting_clips(colour_video: Path, tmp_path: Path) -> None:
    with FakeProvider("zai") as server:
        probe_settings = glm_settings(server, tmp_path / "c.duckdb")
        per_clip = glm(probe_settings).estimate_usage([(448, 336)] * 4, 3.0).cost_usd
        settings = probe_settings.replace(max_cost_usd=per_clip * 1.5, concurrency=1)
        result = index_video(colour_video, settings=settings, indexer=glm(settings))
        assert result.status == "stopped"
        assert result.clips_skipped >= 1
        assert len(clip_calls(server)) == result.clips_analysed <= 2
        assert "max-cost" in result.error


def test_bad_files_do_not_stop_a_batch(colour_video: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    settings = resolve_settings(
        {"db_path": str(tmp_path / "b.duckdb"), **CLIP_FLAGS}, env={}, config_path=os.devnull
    )
    results = index_many([text, tmp_path / "missing.mp4", colour_video], settings=settings)
    assert [r.status for r in results] == ["failed", "failed", "done"]
    assert "notes.mp4" in results[0].error and "missing.mp4" in results[1].error


def test_sigkill_mid_run_resumes_without_duplicates_or_repaid_clips(
    colour_video: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kill.duckdb"
    with FakeProvider("zai", latency_s=0.4) as server:
        env = {
            **os.environ,
            "ZAI_API_KEY": KEY,
            "VIDEOIDX_DB_PATH": str(db),
            "VIDEOIDX_INDEXER": "glm",
            "VIDEOIDX_PROVIDER": "zai",
            "VIDEOIDX_BASE_URL": server.base_url,
            "VIDEOIDX_MODEL": server.model,
            "VIDEOIDX_CONCURRENCY": "1",
            "VIDEOIDX_CONFIG": os.devnull,
            **{f"VIDEOIDX_{k.upper()}": str(v) for k, v in CLIP_FLAGS.items()},
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "videoidx", "index", str(colour_video)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while len(clip_calls(server)) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        paid_before = len(clip_calls(server))
        assert paid_before >= 3

        settings = glm_settings(server, db, concurrency=1)
        result = index_video(colour_video, settings=settings, indexer=glm(settings))
        assert result.status == "done", result
        # Clips the killed run stored are reused; only the rest are sent (at most the one that
        # was in flight at the kill is paid twice, because its answer never reached the store).
        assert result.clips_cached >= paid_before - 1
        assert len(clip_calls(server)) - paid_before == result.clips_analysed
        assert result.clips_cached + result.clips_analysed == result.clips_total
    rows = event_rows(db)
    assert len(rows) == len(set(rows))
    with Store.open(db) as store:
        clips = store.clips(result.video_id)
    assert len(clips) == result.clips_total
    assert all(c.status == "done" for c in clips)


# The demo transcribes its sample's speech and reads its slides (about 25 s of CPU): on a 2-core
# machine shared with other test suites that has taken over 300 s of wall time.
@pytest.mark.timeout(900)
def test_demo_command_indexes_a_generated_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from videoidx.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)
    assert main(["demo", "--no-serve", "--db", str(tmp_path / "demo.duckdb")]) == 0
    out = capsys.readouterr().out
    speaks = can_speak()
    name = "videoidx-sample-talk" if speaks else "videoidx-sample-slides"
    assert f"{name}: done" in out
    assert "moving" in out and "silence" in out and "shot" in out
    assert (tmp_path / f"{name}.mp4").is_file()
    # What is written on the sample's slide is read and found by the printed search, and (with
    # espeak-ng) what is said too, each hit saying what it is.
    hits = out.split("search 'budget':\n", 1)[1].split("\n\n", 1)[0].splitlines()
    shown = [h for h in hits if " on screen " in h]
    assert shown and "quarterly budget review" in shown[0].lower(), hits
    assert "0:00-0:06" in shown[0], shown  # the slide's own time
    # The moving shots carry no text: nothing read in them (ffmpeg's test pattern had a clock).
    assert not [line for line in out.splitlines() if "on-screen text" in line and "00:0" in line]
    if speaks:
        said = [h for h in hits if " said " in h]
        assert said and "budget" in said[0].lower(), hits
        assert '  said           "' in out  # the timeline lists what was said


def test_dry_run_prices_every_provider_and_calls_nothing(
    colour_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from videoidx.cli import main

    db = tmp_path / "dry.duckdb"
    assert main(["index", "--dry-run", "--json", "--db", str(db), str(colour_video)]) == 0
    plan = json.loads(capsys.readouterr().out)[0]
    assert plan["duration_s"] == pytest.approx(12.0, abs=0.1)
    assert plan["clips"] and all(c["frames"] >= 1 for c in plan["clips"])
    costs = {e["provider"]: e["cost_usd"] for e in plan["estimates"]}
    assert set(costs) == {"zai", "openrouter", "siliconflow"}
    assert costs["siliconflow"] < costs["zai"]  # SiliconFlow lists lower prices
    assert not db.exists()  # nothing was stored, nothing was called


def test_pipeline_is_part_of_the_public_api() -> None:
    import videoidx

    assert videoidx.index_video is index_video and videoidx.index_many is index_many
    assert {"index_video", "index_many", "Progress"} <= set(videoidx.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = videoidx.nonsense  # type: ignore[attr-defined]
