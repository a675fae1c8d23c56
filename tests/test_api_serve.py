"""A real ``videoidx serve`` process on a temp library: the CLI, ``index_many`` and ``ask`` on its
library go through it (and say so once), with the outputs and exit codes of in-process runs; the
API's safety rules (allowed folders, symlinks and ``..``, no provider setting from a client,
credentials when a password is set, no secrets in settings); a stale record is ignored.

One server per module (start-up costs seconds); the tests run in file order and build on the
library the earlier ones indexed. The last one stops the server and runs the same commands
in-process, which must print what the routed ones printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

import videoidx
from tests.browser import free_port
from videoidx.client import Client
from videoidx.service.record import ServerRecord, live_record, record_path, write_record

pytestmark = pytest.mark.slow

ROUTED = "is held by `videoidx serve`"


def clean_env(root: Path, **extra: str) -> dict[str, str]:
    """The test's environment without the developer's videoidx settings or config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOIDX_")}
    env.update({"XDG_CONFIG_HOME": str(root / "xdg"), "VIDEOIDX_INDEXER": "local", **extra})
    return env


@dataclass
class Served:
    root: Path
    db: Path
    videos: Path
    outside: Path
    proc: subprocess.Popen[bytes]
    record: ServerRecord
    outputs: dict[str, str] = field(default_factory=dict)
    """Routed CLI outputs, compared with in-process ones once the server stops."""

    def cli(self, *args: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "videoidx", *args, "--db", str(self.db)],
            capture_output=True,
            text=True,
            cwd=self.root,
            env=clean_env(self.root),
            timeout=timeout_s,
        )

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.record.url, timeout=60, trust_env=False)


def start_server(root: Path, db: Path, *args: str) -> subprocess.Popen[bytes]:
    port = free_port()
    return subprocess.Popen(
        [sys.executable, "-m", "videoidx", "serve", "--db", str(db), "--port", str(port), *args],
        cwd=root,
        env=clean_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_record(
    db: Path, proc: subprocess.Popen[bytes], timeout_s: float = 120
) -> ServerRecord:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        found = live_record(db)
        if found is not None:
            return found
        time.sleep(0.5)
    raise AssertionError("the server wrote no record")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, small_videos: list[Path]) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    videos = root / "videos"
    videos.mkdir()
    for v in small_videos:
        shutil.copy(v, videos / v.name)
    outside = tmp_path_factory.mktemp("outside")
    shutil.copy(small_videos[0], outside / "secret.mp4")
    db = root / "library.duckdb"
    proc = start_server(root, db)
    try:
        record = wait_for_record(db, proc)
        yield Served(root, db, videos, outside, proc, record)
    finally:
        stop(proc)


def test_record_beside_the_library_readable_by_the_user_only(served: Served) -> None:
    path = record_path(served.db)
    assert path.parent == served.db.parent
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert served.record.pid == served.proc.pid
    assert len(served.record.token) >= 32
    assert served.record.url.startswith("http://127.0.0.1:")


def test_cli_index_goes_through_the_server_and_says_so_once(served: Served) -> None:
    run = served.cli("index", str(served.videos))
    assert run.returncode == 0, run.stderr
    assert run.stderr.count(ROUTED) == 1
    lines = [line for line in run.stdout.splitlines() if ": done;" in line]
    assert sorted(line.split(":")[0] for line in lines) == ["a_sunrise", "b_night"]
    # The page's one queue ran it: the job is there, from the API.
    with served.http() as http:
        jobs = http.get("/jobs").json()["jobs"]
    assert {j["title"] for j in jobs if j["source"] == "api"} >= {"a_sunrise", "b_night"}
    assert all(j["status"] == "done" for j in jobs)


def test_index_many_in_a_notebook_follows_the_server_jobs(
    served: Served, colour_video: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    target = served.videos / "colours.mp4"
    shutil.copy(colour_video, target)
    seen: list[videoidx.Progress] = []
    settings = videoidx.resolve_settings({"db_path": str(served.db)}, env={})
    results = videoidx.index_many(
        [str(target), str(served.videos / "nothing-here" / "*.mp4")],
        settings=settings,
        progress=seen.append,
    )
    # One result per argument, in order, as in-process: the glob that matched nothing fails.
    assert [r.status for r in results] == ["done", "failed"]
    assert results[0].title == "colours" and results[0].events > 0 and results[0].video_id
    assert "no video files" in results[1].error
    stages = [p.stage for p in seen]
    assert stages[-1] == "done" and "analyze" in stages
    assert all(p.path == str(target) for p in seen)
    assert capfd.readouterr().err.count(ROUTED) <= 1  # said at most once per process


def test_cancel_a_queued_batch_from_a_client(served: Served) -> None:
    with Client(served.record.url, token=served.record.token) as client:
        # One worker: the second batch waits behind the first, so it is cancelled unstarted.
        first = client.submit([str(served.videos / "colours.mp4")], clip_seconds=3)
        second = client.submit([str(served.videos / "a_sunrise.mp4")], clip_seconds=2)
        assert client.cancel(second["batch_id"]) == 1
        deadline = time.monotonic() + 120
        batch = client.batch(second["batch_id"])
        while batch["active"] and time.monotonic() < deadline:
            batch = client.batch(second["batch_id"], since=batch["version"], wait_s=5)
        assert [j["status"] for j in batch["jobs"]] == ["cancelled"]
        done = client.batch(first["batch_id"])
        while done["active"] and time.monotonic() < deadline:
            done = client.batch(first["batch_id"], since=done["version"], wait_s=5)
        assert done["jobs"][0]["status"] in {"done", "partial"}


def test_search_videos_export_and_ask_route_with_the_library_types(served: Served) -> None:
    videos = served.cli("videos")
    assert videos.returncode == 0 and ROUTED in videos.stderr
    assert videos.stdout.count("done") == 3
    served.outputs["videos"] = videos.stdout
    hits = served.cli("search", "shot", "--json", "--limit", "5")
    assert hits.returncode == 0 and len(hits.stdout.splitlines()) == 5
    served.outputs["search"] = hits.stdout
    video_id = json.loads(hits.stdout.splitlines()[0])["video_id"]
    for fmt in ("json", "srt", "chapters"):
        out = served.cli("export", video_id, "--format", fmt)
        assert out.returncode == 0 and out.stdout.strip(), out.stderr
        served.outputs[f"export-{fmt}"] = out.stdout
    served.outputs["video_id"] = video_id
    # In Python, the same verbs give the same types.
    with Client(served.record.url, token=served.record.token) as client:
        listed = client.videos()
        assert all(isinstance(v, videoidx.VideoSummary) for v in listed) and len(listed) == 3
        found = client.search("shot", video_ids=[video_id], limit=3)
        assert found and all(isinstance(h, videoidx.SearchHit) for h in found)
        assert {h.video_id for h in found} == {video_id}
    # videoidx.search on the library's path goes through the server too.
    by_path = videoidx.search(str(served.db), "shot", video_ids=[video_id], limit=3)
    assert by_path == found
    settings = videoidx.resolve_settings({"db_path": str(served.db)}, env={})
    answer = videoidx.ask("what colour is shown?", settings=settings)
    assert isinstance(answer, videoidx.Answer)
    assert answer.citations and all(isinstance(c, videoidx.Citation) for c in answer.citations)


def test_parquet_export_of_a_served_library_lands_in_the_clients_folder(
    served: Served, tmp_path: Path
) -> None:
    # It used to refuse ("stop the server"). The server zips the files; the client writes them.
    import duckdb

    video_id = json.loads(served.cli("search", "shot", "--json", "--limit", "1").stdout)["video_id"]
    out = tmp_path / "pq"
    done = served.cli("export", video_id, "--format", "parquet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert ROUTED in done.stderr and f"parquet files to the folder {out}" in done.stderr
    with Client(served.record.url, token=served.record.token) as client:
        events = client.events(video_id)
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT count(*), count(DISTINCT video_id) FROM read_parquet(?)",
            [str(out / "events.parquet")],
        ).fetchall()[0]
    assert rows == (len(events), 1) and len(events) > 0
    assert {"videos.parquet", "clips.parquet", "speech.parquet"} <= {f.name for f in out.iterdir()}
    assert not list(served.root.glob("*parquet*")), "the server left files beside the library"
    missing = served.cli("export", "no-such-video", "--format", "parquet", "--out", str(out))
    assert missing.returncode != 0 and "no-such-video is not in store" in missing.stderr


def test_opening_the_served_file_says_how_to_go_through_the_server(served: Served) -> None:
    with pytest.raises(videoidx.StoreError, match=r"held by `videoidx serve` \(pid \d+\)"):
        videoidx.Store.open(served.db, read_only=True)


def test_errors_are_the_cli_messages_with_the_same_exit_code(served: Served) -> None:
    gone = served.cli("delete", "no-such-video")
    assert gone.returncode == 2
    assert (
        "videoidx: error: video no-such-video is not in the store; `videoidx videos` lists them"
        in gone.stderr
    )
    served.outputs["delete-missing"] = gone.stderr.splitlines()[-1]
    with served.http() as http:
        r = http.get("/videos/no-such-video")
    assert r.status_code == 404
    assert r.json() == {
        "error": "video no-such-video is not in the store; `videoidx videos` lists them",
        "type": "StoreError",
    }


def test_only_files_under_allowed_folders_can_be_indexed(served: Served) -> None:
    secret = served.outside / "secret.mp4"
    link = served.videos / "link.mp4"
    link.symlink_to(secret)
    linked_dir = served.root / "linked"
    linked_dir.symlink_to(served.outside, target_is_directory=True)
    refused = [
        str(secret),  # outside every allowed folder
        str(link),  # a symlink inside, to a file outside
        str(served.videos / ".." / ".." / served.outside.name / "secret.mp4"),  # dot-dot out
        str(linked_dir),  # a folder symlinked from inside
        str(served.outside / "*.mp4"),  # a glob outside
        "/etc/passwd",
        "videos/a_sunrise.mp4",  # relative: the server resolves nothing against a client's cwd
    ]
    try:
        with served.http() as http:
            for path in refused:
                r = http.post("/jobs", json={"paths": [path]})
                assert r.status_code == 403, (path, r.text)
                assert r.json()["type"] == "PathNotAllowedError"
                # It quotes the client's own path and never lists the server's folders.
                error = r.json()["error"]
                assert error.startswith(repr(path)) and "/" not in error[len(repr(path)) :]
            # Mixed with allowed files, the whole batch is refused: nothing was queued.
            r = http.post(
                "/jobs", json={"paths": [str(served.videos / "a_sunrise.mp4"), str(secret)]}
            )
            assert r.status_code == 403
            assert not [j for j in http.get("/jobs").json()["jobs"] if "secret" in j["path"]]
    finally:
        link.unlink()
        linked_dir.unlink()


def test_a_client_cannot_change_where_the_key_goes(served: Served) -> None:
    with served.http() as http:
        for route, body in (
            ("/jobs", {"paths": [str(served.videos)], "base_url": "http://evil.example"}),
            ("/jobs", {"paths": [str(served.videos)], "api_key_env": "HOME"}),
            ("/ask", {"question": "what?", "base_url": "http://evil.example"}),
        ):
            r = http.post(route, json=body)
            assert r.status_code == 422, (route, r.text)
        shown = http.get("/settings").json()
    assert "auth" not in shown and "api_token" not in shown
    assert "upload_dir" not in shown and "allowed_folders" not in shown
    assert shown["db_path"] == "library.duckdb"
    assert served.record.token not in json.dumps(shown)


def test_a_stale_record_is_ignored_and_removed(served: Served, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    with videoidx.Store.open(other):
        pass
    # A dead process, then a live one (this test) that does not answer on its address.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    for pid in (int(dead), os.getpid()):
        write_record(
            ServerRecord(f"http://127.0.0.1:{free_port()}/api/v1", pid, "t" * 32, str(other))
        )
        run = subprocess.run(
            [sys.executable, "-m", "videoidx", "videos", "--db", str(other)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=clean_env(tmp_path),
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert ROUTED not in run.stderr
        assert "the store holds no videos" in run.stderr
        assert not record_path(other).exists()


def test_stopping_removes_the_record_and_in_process_prints_the_same(served: Served) -> None:
    stop(served.proc)
    assert not record_path(served.db).exists()
    assert live_record(served.db) is None
    videos = served.cli("videos")
    assert ROUTED not in videos.stderr
    assert videos.stdout == served.outputs["videos"]
    assert served.cli("search", "shot", "--json", "--limit", "5").stdout == served.outputs["search"]
    for fmt in ("json", "srt", "chapters"):
        out = served.cli("export", served.outputs["video_id"], "--format", fmt)
        assert out.stdout == served.outputs[f"export-{fmt}"], fmt
    gone = served.cli("delete", "no-such-video")
    assert gone.returncode == 2 and gone.stderr.splitlines()[-1] == served.outputs["delete-missing"]


# -- credentials -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ServerRecord]]:
    root = tmp_path_factory.mktemp("guarded")
    auth = root / "auth"
    auth.write_text("ann:s3cret-pass\n")
    auth.chmod(0o600)
    db = root / "library.duckdb"
    proc = start_server(root, db, "--auth-file", str(auth))
    try:
        yield db, wait_for_record(db, proc)
    finally:
        stop(proc)


def test_a_password_protects_every_route_and_the_token_opens_them(
    guarded: tuple[Path, ServerRecord],
) -> None:
    db, record = guarded
    with httpx.Client(base_url=record.url, timeout=30, trust_env=False) as http:
        for method, route in (
            ("GET", "/videos"),
            ("GET", "/search"),
            ("GET", "/jobs"),
            ("GET", "/settings"),
            ("POST", "/jobs"),
            ("POST", "/uploads?name=a.mp4"),
            ("GET", "/snapshot"),
            ("DELETE", "/videos/x"),
        ):
            r = http.request(method, route)
            assert r.status_code == 401, (route, r.text)
            assert "Bearer" in r.headers["www-authenticate"]
        assert http.get("/videos", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/videos", auth=("ann", "wrong")).status_code == 401
        assert http.get("/videos", auth=("ann", "s3cret-pass")).status_code == 200
        ok = http.get("/videos", headers={"Authorization": f"Bearer {record.token}"})
        assert ok.status_code == 200 and ok.json() == []
    # The CLI on that library finds the token in the record and goes through.
    run = subprocess.run(
        [sys.executable, "-m", "videoidx", "videos", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=db.parent,
        env=clean_env(db.parent),
        timeout=60,
    )
    assert run.returncode == 0 and ROUTED in run.stderr


def test_a_client_elsewhere_uploads_its_files_and_indexes_them(
    guarded: tuple[Path, ServerRecord], colour_video: Path, tmp_path: Path
) -> None:
    # The client's folder is one the server may not read: naming it is refused, uploading works.
    db, record = guarded
    mine = tmp_path / "mine"
    mine.mkdir()
    local = mine / "colours.mp4"
    shutil.copy(colour_video, local)
    missing = tmp_path / "gone.mp4"
    seen: list[videoidx.Progress] = []
    with Client(record.url, token=record.token) as client:
        with pytest.raises(videoidx.ConfigError, match="outside the folders"):
            client.submit([str(local)])
        results = client.index_many([str(mine), str(missing)], upload=True, progress=seen.append)
        # One result per video in argument order, naming the caller's own paths.
        assert [r.status for r in results] == ["done", "failed"]
        assert results[0].path == str(local) and results[0].title == "colours"
        assert results[0].events > 0 and results[0].video_id
        assert results[1].error == f"{missing} does not exist; check the path"
        assert seen and {p.path for p in seen} == {str(local)} and seen[-1].stage == "done"
        events = client.events(results[0].video_id)
        word = events[0].label
        hits = client.search(word, video_ids=[results[0].video_id])
        assert hits and hits[0].video_id == results[0].video_id
        job = next(j for j in client.jobs() if j["source"] == "upload")
    # The job shows the upload's id, never the server's folders; the file sits in its folder.
    batch, name = job["path"].split("/")
    assert name == "colours.mp4" and len(batch) == 12 and str(db.parent) not in job["path"]
    stored = db.parent / "videoidx-uploads" / batch / name
    assert stored.read_bytes() == local.read_bytes()


def test_serving_beyond_loopback_without_a_password_is_refused(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "videoidx",
            "serve",
            "--db",
            str(tmp_path / "l.duckdb"),
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(tmp_path),
        timeout=120,
    )
    assert run.returncode == 2
    assert "refusing to serve on host 0.0.0.0 without a password" in run.stderr
    assert not record_path(tmp_path / "l.duckdb").exists()
