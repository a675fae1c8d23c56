"""One indexing engine: ``index_video``, ``index_many`` and the web page's jobs run the same batch.

What a user relies on: a batch started on the page obeys one concurrency limit and one cost cap
for all its videos, as ``videoidx index`` does (not one per video, which multiplied both by the
number of videos); and one file indexed alone or as a batch of one stores the same rows, through
the same stages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from indexers.glm import GlmIndexer
from tests.fake_provider import FakeProvider
from tests.test_bulk import timeline_rows
from tests.test_pipeline import KEY, clip_calls, glm_settings
from ui.jobs import JobQueue
from videoidx.media.probe import probe
from videoidx.media.scan import Scan
from videoidx.pipeline.bulk import index_many
from videoidx.pipeline.progress import Progress, Stage
from videoidx.pipeline.run import index_video
from videoidx.settings import Settings
from videoidx.store import Store


def run_page_batch(paths: list[Path], settings: Settings, *, index_workers: int) -> list[Any]:
    """Submit ``paths`` as one page batch (one Start press) and wait for it; returns the jobs."""
    with Store.open(settings.db_path) as store:
        jobs = JobQueue(store, workers=index_workers)
        try:
            submitted = jobs.submit(paths, settings)
            assert jobs.wait_idle(180)
            by_id = {j.job_id: j for j in jobs.snapshot()}
            return [by_id[j.job_id] for j in submitted]
        finally:
            jobs.close()


def test_a_page_batch_shares_one_concurrency_limit(
    three_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    with FakeProvider("zai", latency_s=0.5) as server:
        settings = glm_settings(server, tmp_path / "page.duckdb", concurrency=2)
        # Three batches may run at once: still one limit inside a batch, not one per video.
        jobs = run_page_batch(three_videos, settings, index_workers=3)
        assert [j.status for j in jobs] == ["done"] * 3, [(j.status, j.error) for j in jobs]
        assert len(clip_calls(server)) == sum(j.result.clips_total for j in jobs)
        assert 1 <= server.max_active <= 2, server.max_active
    # Every card followed its own video to the end.
    assert all(j.progress is not None and j.progress.stage == Stage.DONE for j in jobs)
    assert [j.progress.path for j in jobs] == [str(p) for p in three_videos]


def clip_estimates_usd(paths: list[Path], settings: Settings) -> list[float]:
    """What the engine reserves against the cost cap for each clip of ``paths``."""
    indexer = GlmIndexer(settings, env={"ZAI_API_KEY": KEY})
    out = []
    for path in paths:
        for clip, frames in Scan(probe(path), settings.media):
            sizes = [(f.width_px, f.height_px) for f in frames]
            out.append(indexer.estimate_usage(sizes, clip.duration_s).cost_usd)
    return out


def test_a_page_batch_shares_one_cost_cap(
    three_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    with FakeProvider("zai") as server:
        settings = glm_settings(server, tmp_path / "cap.duckdb", concurrency=1)
        estimates = clip_estimates_usd(three_videos, settings)
        # Room for any one clip of the batch, never for two: one cap for the batch sends one
        # clip in all; a cap per video would send one clip of every video.
        cap_usd = max(estimates) * 1.01
        assert 2 * min(estimates) > cap_usd, estimates
        jobs = run_page_batch(three_videos, settings.replace(max_cost_usd=cap_usd), index_workers=1)
        assert len(clip_calls(server)) == 1
    results = [j.result for j in jobs]
    assert [r.status for r in results] == ["stopped"] * 3, results
    assert sum(r.clips_analysed for r in results) == 1
    assert all("max-cost" in r.error for r in results)
    with Store.open(tmp_path / "cap.duckdb") as store:
        (spent_usd,) = store.sql("SELECT coalesce(sum(cost_usd), 0) FROM clips")[0]
    assert 0 < spent_usd <= cap_usd


def test_index_video_is_a_batch_of_one(
    colour_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    stages: dict[str, list[Progress]] = {"alone": [], "batch": []}
    with FakeProvider("zai") as server:
        alone = glm_settings(server, tmp_path / "alone.duckdb", concurrency=2)
        one = index_video(colour_video, settings=alone, progress=stages["alone"].append)
        in_batch = glm_settings(server, tmp_path / "batch.duckdb", concurrency=2)
        (many,) = index_many([colour_video], settings=in_batch, progress=stages["batch"].append)
    assert one.status == many.status == "done"
    assert (one.clips_total, one.events, one.usage.requests) == (
        many.clips_total,
        many.events,
        many.usage.requests,
    )
    assert timeline_rows(tmp_path / "alone.duckdb") == timeline_rows(tmp_path / "batch.duckdb")
    characters = "SELECT name, description, first_seen_s FROM characters ORDER BY ALL"
    with Store.open(tmp_path / "alone.duckdb") as a, Store.open(tmp_path / "batch.duckdb") as b:
        assert a.sql(characters) == b.sql(characters) and a.sql(characters)

    def stage_changes(seen: list[Progress]) -> list[Stage]:
        out: list[Stage] = []
        for p in seen:
            assert isinstance(p.stage, Stage) and p.path == str(colour_video)
            if not out or out[-1] != p.stage:
                out.append(p.stage)
        return out

    expected = [Stage.ANALYZE, Stage.CONSOLIDATE, Stage.DONE]
    assert stage_changes(stages["alone"]) == stage_changes(stages["batch"]) == expected


def test_cards_group_videos_under_their_batch_with_its_shared_cap_and_limit() -> None:
    from ui.render import JobView, jobs_html

    def view(title: str, batch: str, cap: float | None, limit: int, cost: float) -> JobView:
        return JobView(
            title, "running", Stage.ANALYZE, 0.5, 1, 2, 0, 0, 3, 100, cost, None, "",
            batch_id=batch, batch_cost_cap_usd=cap, batch_concurrency=limit,
        )  # fmt: skip

    one = [view("a", "b1", 0.05, 2, 0.01), view("b", "b1", 0.05, 2, 0.02)]
    html = jobs_html([*one, view("c", "b2", None, 4, 0.0)])
    first, second = html.split('<div class="vx-batch">')[1:]
    assert first.count('class="vx-job ') == 2 and second.count('class="vx-job ') == 1
    assert "2 videos, 0 finished" in first and "$0.0300 spent of the batch" in first
    assert "$0.0500 cap" in first and "up to 2 model calls at once" in first
    assert "cap" not in second and "up to 4 model calls at once" in second
