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


def test_uploads_are_capped_named_safely_and_found_only_by_their_ids(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from videoidx.service.api import Service, create_api
    from videoidx.service.jobs import JobQueue

    conf = videoidx.resolve_settings(
        {"db_path": str(tmp_path / "l.duckdb"), "upload_max_mb": 1}, env={}
    )
    up = tmp_path / "uploads"
    up.mkdir()
    (tmp_path / "secret.mp4").write_bytes(b"secret")

    def chunks(n_bytes: int):  # no Content-Length: the cap is checked as bytes arrive
        for _ in range(n_bytes // 65536):
            yield b"\0" * 65536

    with videoidx.Store.open(conf.db_path) as store:
        jobs = JobQueue(store)
        rule = PathRule((tmp_path.resolve(),))
        service = Service(conf, store, jobs, rule, "t" * 32, upload_dir=up)
        with TestClient(create_api(service), base_url="http://127.0.0.1:7860") as http:
            ok = http.post("/uploads", params={"name": "../../evil\x07.mp4"}, content=b"x" * 10)
            assert ok.status_code == 201, ok.text
            body = ok.json()
            assert body["name"] == "evil.mp4" and body["size_bytes"] == 10
            assert (up / body["upload_id"]).read_bytes() == b"x" * 10
            for sent in (
                {"content": b"x" * (1024 * 1024 + 1)},  # declared over the cap
                {"content": chunks(2 * 1024 * 1024)},  # streamed over the cap
            ):
                r = http.post("/uploads", params={"name": "big.mp4"}, **sent)
                assert r.status_code == 413 and r.json()["type"] == "UploadTooLargeError"
                assert "over the upload cap of 1 MB" in r.json()["error"]
            assert http.post("/uploads", params={"name": "e.mp4"}, content=b"").status_code == 400
            # Only the one good upload is left: nothing of the refused ones.
            assert [p.name for p in up.rglob("*") if p.is_file()] == ["evil.mp4"]
            # An id names a file this module made, nothing else.
            planted = up / "0123456789ab"
            planted.mkdir()
            (planted / "link.mp4").symlink_to(tmp_path / "secret.mp4")
            for bad in (
                "../secret.mp4",
                "0123456789ab/../../secret.mp4",
                "0123456789ab/link.mp4",
                "0123456789ab/missing.mp4",
                "not-hex-here/evil.mp4",
                str(up / body["upload_id"]),
            ):
                r = http.post("/jobs", json={"uploads": [bad]})
                assert r.status_code == 404, (bad, r.text)
                assert "upload the file first" in r.json()["error"]
            both = {"uploads": [body["upload_id"]], "paths": [str(tmp_path / "secret.mp4")]}
            for wrong in (both, {}):
                r = http.post("/jobs", json=wrong)
                assert r.status_code == 400 and "one of the two" in r.json()["error"]
            queued = http.post("/jobs", json={"uploads": [body["upload_id"]]})
            assert queued.status_code == 201
            assert queued.json()["jobs"][0]["path"] == body["upload_id"]
            assert queued.json()["jobs"][0]["source"] == "upload"
        jobs.close()
