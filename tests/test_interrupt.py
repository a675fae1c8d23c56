"""Stopping ``videoidx index``: Ctrl-C and SIGTERM end it promptly and cleanly, and a run that
was killed outright is closed as interrupted the next time the store is opened for writing.

Real subprocesses against the fake provider, which hangs (SSE keep-alive comments forever) on
the clip the signal arrives during; the default 600 s request deadline is far away, so a prompt
exit proves the request in flight was cancelled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT
from tests.fake_provider import FakeProvider
from tests.test_cut_off_replies import _cli_env
from tests.test_pipeline import clip_calls
from videoidx.store import Store

PROMPT_EXIT_S = 5.0


def _start(video: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "videoidx", "index", str(video)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_calls(server: FakeProvider, n: int, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(clip_calls(server)) < n:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never sent its clips"
        time.sleep(0.02)


def _runs(db: Path) -> list[tuple[str, str | None, object]]:
    con = duckdb.connect(str(db), read_only=True)  # read as it is: Store.open would close runs
    try:
        return [
            (r[0], r[1], r[2])
            for r in con.execute("SELECT status, error, finished_at FROM index_runs").fetchall()
        ]
    finally:
        con.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_cancels_a_hanging_run_and_keeps_finished_clips(
    colour_video: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    db = tmp_path / "sig.duckdb"
    with FakeProvider("zai", hang_s=120.0, trickle_s=0.5) as server:
        server.script(["ok", "ok", "keepalive"])  # clip 2 never gets an answer
        child = _start(colour_video, _cli_env(server, db))
        _wait_for_calls(server, 3, child)
        time.sleep(0.5)  # clip 2's request is open, receiving keep-alive comments
        child.send_signal(sig)
        signalled_at = time.monotonic()
        _, err = child.communicate(timeout=30)
        took_s = time.monotonic() - signalled_at
        assert took_s < PROMPT_EXIT_S, (took_s, err)
        assert child.returncode == 128 + sig, err
        assert f"cancelled by {sig.name}" in err and "2 finished clips kept" in err
        assert "Traceback" not in err
        assert len(clip_calls(server)) == 3  # nothing started after the signal
    with Store.open(db) as store:
        (video,) = store.list_videos()
        clips = store.clips(video.video_id)
        runs = store.sql("SELECT status FROM index_runs")
    assert [(c.clip_index, c.status) for c in clips] == [(0, "done"), (1, "done")]
    assert runs == [("cancelled",)]


STUCK_WIND_DOWN = """
import multiprocessing, threading, time
from videoidx.cli.interrupt import stop_on_signals

if __name__ == "__main__":
    worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    worker.start()
    cancel = threading.Event()
    with stop_on_signals(cancel):
        print("ready", worker.pid, flush=True)
        cancel.wait()
        print("cancel seen", flush=True)
        time.sleep(60)  # a wind-down that does not finish
"""


def test_second_ctrl_c_exits_at_once_and_leaves_no_worker(tmp_path: Path) -> None:
    script = tmp_path / "stuck.py"
    script.write_text(STUCK_WIND_DOWN)
    child = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    ready, worker_pid = child.stdout.readline().split()
    assert ready == "ready"
    child.send_signal(signal.SIGINT)
    assert child.stdout.readline().strip() == "cancel seen"  # the first only asked to stop
    child.send_signal(signal.SIGINT)
    signalled_at = time.monotonic()
    # Wait for the process itself first: its spawned children inherit its stdout and stderr, so
    # the pipes' end says when the last of them is gone, which is checked separately below.
    returncode = child.wait(timeout=30)
    assert time.monotonic() - signalled_at < 2.0
    _, err = child.communicate(timeout=30)
    assert returncode == 130, err
    assert "stopping" in err and "stopped at once" in err
    deadline = time.monotonic() + 5
    while Path(f"/proc/{worker_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker was killed; wait for its reaping by init
    status = Path(f"/proc/{worker_pid}/status")
    assert not status.exists() or "zombie" in status.read_text()


def test_ctrl_c_before_any_clip_finished_closes_the_run_cancelled(
    colour_video: Path, tmp_path: Path
) -> None:
    db = tmp_path / "twice.duckdb"
    with FakeProvider("zai", hang_s=120.0, trickle_s=0.5) as server:
        server.script(["keepalive"])
        child = _start(colour_video, _cli_env(server, db))
        _wait_for_calls(server, 1, child)
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=30)
    assert child.returncode == 130
    assert [r[0] for r in _runs(db)] == ["cancelled"]


def test_run_killed_with_sigkill_is_closed_as_interrupted_on_next_open(
    colour_video: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kill.duckdb"
    with FakeProvider("zai", latency_s=0.3) as server:
        child = _start(colour_video, _cli_env(server, db))
        _wait_for_calls(server, 2, child)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert [r[0] for r in _runs(db)] == ["running"]
    opened_at = time.time()
    with Store.open(db) as store:
        ((status, error, finished),) = store.sql(
            "SELECT status, error, epoch(finished_at) FROM index_runs"
        )
    assert status == "interrupted"
    assert error is not None and "ended before it finished" in error
    assert finished is not None and abs(finished - opened_at) < 120  # the time it was found
    with Store.open(db, read_only=True) as store:
        assert store.sql("SELECT status FROM index_runs") == [("interrupted",)]


def test_a_run_of_this_process_is_not_closed_by_a_second_store(tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    with Store.open(db) as first:
        run_id = first.start_run(
            "vid", indexer="local", model="m", provider="", prompt_version="1", settings={}
        )
        with Store.open(db) as second:  # e.g. a notebook cell beside a running job
            assert second.sql("SELECT status FROM index_runs") == [("running",)]
        first.finish_run(run_id, "done")
        assert first.sql("SELECT status FROM index_runs") == [("done",)]
