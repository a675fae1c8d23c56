"""What the command line prints: one clock format, typed times, counts, closed pipes."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import storefix
from videoidx.cli import EXIT_BROKEN_PIPE, build_parser, main
from videoidx.errors import StoreError
from videoidx.pipeline.progress import Progress, TerminalBar
from videoidx.qa import ask
from videoidx.settings import Settings
from videoidx.store import Store
from videoidx.types import ClipSpec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VIDEOIDX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Clips 0-10, 10-20, 20-30 s (two events each) and a brief flash at 33.4-33.9 s."""
    path = tmp_path / "lib.duckdb"
    with Store.open(path) as store:
        store.upsert_video(storefix.video_info("vid-a", title="Title vid-a"))
        run = storefix.start(store, "vid-a")
        specs = [storefix.clip("vid-a", i) for i in range(3)]
        for spec in specs:
            store.write_clip(run, spec, f"k{spec.index}", storefix.analysis(spec))
        flash = ClipSpec("vid-a", 3, 33.4, 33.9)
        store.write_clip(run, flash, "flash", storefix.analysis(flash, words="flash", n_events=1))
        store.finish_run(run, "done", storefix.analysis(flash).usage)
    return path


def test_search_reads_typed_times(db: Path, clean_env: None, capsys: pytest.CaptureFixture) -> None:
    assert main(["search", "", "--db", str(db), "--from", "0:12", "--to", "0:18"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[3] for line in lines] == ["0:10-0:15", "0:15-0:20"]
    assert main(["search", "", "--db", str(db), "--from", "26", "--to", "0:00:29"]) == 0
    assert [line.split()[3] for line in capsys.readouterr().out.splitlines()] == ["0:25-0:30"]


def test_search_rejects_what_is_not_a_time(
    db: Path, clean_env: None, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["search", "", "--db", str(db), "--from", "1:75"])
    assert stop.value.code == 2
    assert "'1:75' is not a time" in capsys.readouterr().err


def test_a_brief_event_prints_with_tenths(
    db: Path, clean_env: None, capsys: pytest.CaptureFixture
) -> None:
    assert main(["search", "flash", "--db", str(db)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "  0:33.4-0:33.9  " in line
    assert main(["ask", "what happens at 0:33?", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\[\d\] Title vid-a 0:33\.4-0:33\.9 \(vid-a\)$", out, re.MULTILINE)
    assert "0:33-0:33" not in out


def test_videos_lists_durations_as_clocks(
    db: Path, clean_env: None, capsys: pytest.CaptureFixture
) -> None:
    assert main(["videos", "--db", str(db)]) == 0
    assert capsys.readouterr().out.split()[1] == "2:00"


def test_progress_bar_counts_and_clocks() -> None:
    out = io.StringIO()
    bar = TerminalBar(stream=out)
    bar(Progress("vid-a", "Talk", "analyse", clips_total=1, clips_done=1, events=1, eta_s=75))
    line = out.getvalue()
    assert "1/1 clip 1 event " in line and "eta 1:15" in line
    assert "clips" not in line and "events" not in line


def test_parquet_export_says_it_writes_a_folder(
    db: Path, tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture
) -> None:
    export = build_parser()._subparsers._group_actions[0].choices["export"]  # type: ignore[union-attr]
    out_help = next(a.help for a in export._actions if a.dest == "out")
    assert "folder" in (out_help or "")
    target = tmp_path / "tables"
    assert (
        main(["export", "vid-a", "--format", "parquet", "--db", str(db), "--out", str(target)]) == 0
    )
    err = capsys.readouterr().err
    assert f"parquet files to the folder {target}" in err
    assert target.is_dir()


def test_python_ask_names_settings_and_the_cli_names_the_flag(
    tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture
) -> None:
    missing = tmp_path / "none.duckdb"
    with pytest.raises(StoreError) as caught:
        ask("anything?", settings=Settings(db_path=str(missing)))
    assert "--db" not in str(caught.value) and "db_path" in str(caught.value)
    assert main(["ask", "anything?", "--db", str(missing)]) == 2
    assert "pass --db PATH" in capsys.readouterr().err


def _run_into_closed_pipe(args: list[str], read_first: bool) -> tuple[int, str]:
    env = {**os.environ, "VIDEOIDX_CONFIG": os.devnull}
    proc = subprocess.Popen(
        [sys.executable, "-m", "videoidx", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    if read_first:
        assert proc.stdout.readline()  # like `| head -1`: one line, then the reader is gone
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=120), err


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough events that their JSON (about 400 kB) cannot all sit in a pipe's buffer."""
    path = tmp_path_factory.mktemp("big") / "big.duckdb"
    with Store.open(path) as store:
        store.upsert_video(storefix.video_info("vid-a", duration_s=1000.0))
        run = storefix.start(store, "vid-a")
        for i in range(100):
            spec = storefix.clip("vid-a", i)
            words = "long description " * 10
            store.write_clip(run, spec, f"k{i}", storefix.analysis(spec, words=words, n_events=10))
        store.finish_run(run, "done", storefix.analysis(storefix.clip("vid-a", 0)).usage)
    return path


@pytest.mark.parametrize("read_first", [True, False], ids=["reader-stops-early", "reader-gone"])
def test_a_closed_pipe_ends_quietly(big_db: Path, read_first: bool) -> None:
    search = ["search", "", "--db", str(big_db), "--json", "--limit", "5000"]
    code, err = _run_into_closed_pipe(search, read_first)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == EXIT_BROKEN_PIPE
    code, err = _run_into_closed_pipe(["videos", "--db", str(big_db)], read_first=False)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception" not in err, err
    assert code == EXIT_BROKEN_PIPE


def test_json_lines_are_whole(big_db: Path, clean_env: None, capsys: pytest.CaptureFixture) -> None:
    assert main(["search", "", "--db", str(big_db), "--json", "--limit", "5000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1000 and all(json.loads(line)["video_id"] == "vid-a" for line in lines)
