"""``index_many(engine="ray")`` end to end on a local Ray with 2 CPUs, against the fake provider.

One Ray session serves the whole module (starting one takes seconds). What a user relies on:
the same rows as the local engine, a cancelled run that resumes paying only for what is left,
and a clear message when Ray is not installed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import videoidx.pipeline
from tests.fake_provider import FakeProvider
from tests.test_bulk import local_settings, timeline_rows
from tests.test_pipeline import KEY, clip_calls, glm_settings
from videoidx.errors import ConfigError
from videoidx.pipeline.bulk import index_many
from videoidx.pipeline.progress import Progress

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_AUTH_MODE", "disabled")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


@pytest.mark.slow
def test_ray_engine_matches_local_and_resumes_a_cancelled_run(
    local_ray: None,
    three_videos: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    paths = three_videos
    with FakeProvider("zai", latency_s=0.2) as server:
        cancel = threading.Event()

        def cancel_after_two_clips(p: Progress) -> None:
            if p.clips_done >= 2:
                cancel.set()

        db = tmp_path / "ray.duckdb"
        settings = glm_settings(server, db, concurrency=2)
        first = index_many(
            paths, settings=settings, engine="ray", progress=cancel_after_two_clips, cancel=cancel
        )
        assert all(r.status == "cancelled" for r in first), first
        paid_first = len(clip_calls(server))
        assert paid_first == sum(r.clips_analysed for r in first) >= 2

        second = index_many(paths, settings=settings, engine="ray")
        assert [r.status for r in second] == ["done"] * 3, second
        # Nothing stored by the cancelled run is paid for again.
        assert sum(r.clips_cached for r in second) == paid_first
        assert len(clip_calls(server)) - paid_first == sum(r.clips_analysed for r in second)
        assert 1 <= server.max_active <= 2

        sent = len(server.requests)
        third = index_many(paths, settings=settings, engine="ray")
        assert [r.status for r in third] == ["done"] * 3
        assert len(server.requests) == sent

        local_db = tmp_path / "local.duckdb"
        local = index_many(paths, settings=glm_settings(server, local_db), workers=1)
        assert [r.status for r in local] == ["done"] * 3
    ray_rows, local_rows = timeline_rows(db), timeline_rows(local_db)
    assert ray_rows["events"] and ray_rows == local_rows


def test_ray_missing_is_a_config_error_naming_the_extra(
    colour_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra looks like
    monkeypatch.delitem(sys.modules, "videoidx.pipeline.ray_engine", raising=False)
    monkeypatch.delattr(videoidx.pipeline, "ray_engine", raising=False)
    settings = local_settings(tmp_path / "none.duckdb")
    with pytest.raises(ConfigError, match=r"pip install 'videoidx\[ray\]'"):
        index_many(colour_video, settings=settings, engine="ray")
