"""The API's parts without a server: which paths a client may index, and the wire codec that
gives a client the library's own types back."""

from __future__ import annotations

from pathlib import Path

import pytest

import videoidx
from videoidx.pipeline.job import VideoResult
from videoidx.pipeline.progress import Progress, Stage
from videoidx.qa.records import Answer, Citation
from videoidx.service import wire
from videoidx.service.paths import PathNotAllowedError, PathRule, allowed_folders
from videoidx.types import Usage
from videoidx.vocab import RunStatus


@pytest.fixture
def tree(tmp_path: Path) -> tuple[PathRule, Path, Path]:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "a.mp4").write_bytes(b"x")
    (outside / "secret.mp4").write_bytes(b"x")
    return PathRule((allowed.resolve(),)), allowed, outside


def test_files_folders_and_globs_inside_are_allowed(tree: tuple[PathRule, Path, Path]) -> None:
    rule, allowed, _ = tree
    for item in (allowed / "a.mp4", allowed, allowed / "*.mp4", allowed / "**" / "*.mp4"):
        assert rule.check(str(item)) == str(item)
    paths, unmatched = rule.expand([str(allowed)])
    assert paths == [allowed / "a.mp4"] and unmatched == []


def test_every_way_out_is_refused(tree: tuple[PathRule, Path, Path]) -> None:
    rule, allowed, outside = tree
    (allowed / "link.mp4").symlink_to(outside / "secret.mp4")
    (allowed / "door").symlink_to(outside, target_is_directory=True)
    for item in (
        outside / "secret.mp4",
        allowed / "link.mp4",
        allowed / "door",
        allowed / "door" / "*.mp4",
        allowed / ".." / "outside" / "secret.mp4",
        outside / "*.mp4",
        "relative/a.mp4",
        "",
    ):
        with pytest.raises(PathNotAllowedError):
            rule.check(str(item))
    # A folder whose file is a symlink out of it: the file is refused when expanded.
    (allowed / "sub").mkdir()
    (allowed / "sub" / "out.mp4").symlink_to(outside / "secret.mp4")
    with pytest.raises(PathNotAllowedError, match=r"out\.mp4"):
        rule.expand([str(allowed / "sub")])


def test_default_folders_are_library_cwd_and_uploads(tmp_path: Path) -> None:
    settings = videoidx.resolve_settings({"db_path": str(tmp_path / "lib" / "x.duckdb")}, env={})
    folders = allowed_folders(settings, tmp_path / "up")
    assert folders == (
        (tmp_path / "lib").resolve(),
        Path.cwd().resolve(),
        (tmp_path / "up").resolve(),
    )
    chosen = settings.replace(allowed_folders=f"{tmp_path}/a, {tmp_path}/b")
    assert allowed_folders(chosen, tmp_path / "up") == (
        (tmp_path / "a").resolve(),
        (tmp_path / "b").resolve(),
    )


def test_the_wire_gives_back_the_library_types() -> None:
    result = VideoResult(
        path="/v/a.mp4", video_id="v1", status=RunStatus.PARTIAL, usage=Usage(3, 4, 0.5),
        clip_errors=["clip 2: bad reply"],
    )  # fmt: skip
    assert wire.decode(VideoResult, wire.encode(result)) == result
    p = Progress("v1", "a", Stage.ANALYZE, clips_total=3, eta_s=None, path="/v/a.mp4")
    assert wire.decode(Progress, wire.encode(p)) == p
    c = Citation(1, "v1", "a", 1.0, 2.0, None, "goal")
    answer = Answer("q?", "it [1]", [c], "retrieved", Usage(), evidence=[c])
    back = wire.decode(Answer, wire.encode(answer))
    assert back == answer and isinstance(back.citations[0], Citation)


def test_a_page_on_another_site_cannot_drive_a_loopback_server(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from videoidx.service.api import Service, create_api
    from videoidx.service.jobs import JobQueue

    conf = videoidx.resolve_settings({"db_path": str(tmp_path / "l.duckdb")}, env={})
    with videoidx.Store.open(conf.db_path) as store:
        jobs = JobQueue(store)
        service = Service(conf, store, jobs, PathRule((tmp_path.resolve(),)), "t" * 32)
        with TestClient(create_api(service), base_url="http://127.0.0.1:7860") as http:
            assert http.get("/videos").status_code == 200
            same = http.get("/videos", headers={"Origin": "http://127.0.0.1:7860"})
            assert same.status_code == 200
            for method, route in (("GET", "/videos"), ("DELETE", "/videos/x"), ("POST", "/jobs")):
                r = http.request(method, route, headers={"Origin": "https://evil.example"})
                assert r.status_code == 403 and r.json()["type"] == "CrossSiteError"
        jobs.close()
