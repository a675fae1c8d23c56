"""What a batch's arguments mean: an existing path is that path, whatever its name holds; only an
argument naming nothing is a glob; a folder or glob without videos is reported and the rest go on.

File names like ``talk [1080p].mp4`` are common (downloads carry the resolution in brackets),
and one empty folder in a long list of arguments must not cost the whole batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_pipeline import CLIP_FLAGS
from videoidx.errors import VideoNotFoundError
from videoidx.media.synth import Segment, make_video
from videoidx.pipeline.bulk import expand_videos, index_many
from videoidx.settings import resolve_settings
from videoidx.store import Store

BRACKETS = "talk [1080p].mp4"
WILDCARDS = "a*b?.mp4"
# What ``a*b?.mp4`` matches when read as a glob: a reading that treats it so indexes this too.
LOOKALIKE = "aXbY.mp4"


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the odd names, a look-alike, and an empty subfolder."""
    folder = tmp_path_factory.mktemp("names")
    make_video(folder / BRACKETS, [Segment("red", 1.5), Segment("blue", 1.5)], audio=False)
    make_video(folder / WILDCARDS, [Segment("green", 1.5), Segment("yellow", 1.5)], audio=False)
    make_video(folder / LOOKALIKE, [Segment("white", 3.0)], audio=False)
    (folder / "empty").mkdir()
    return folder


def arguments(folder: Path) -> list[str]:
    """The batch a user types: two odd names, an empty folder, a glob matching nothing."""
    return [
        str(folder / BRACKETS),
        str(folder / "empty"),
        str(folder / WILDCARDS),
        str(folder / "nothing-*.mkv"),
    ]


def test_an_existing_path_is_a_path_and_only_a_missing_one_is_a_glob(batch_dir: Path) -> None:
    from videoidx.pipeline.bulk import Unmatched, expand_inputs

    entries = expand_inputs(arguments(batch_dir))
    assert len(entries) == 4
    empty, nothing = entries[1], entries[3]
    assert entries[0] == batch_dir / BRACKETS
    assert isinstance(empty, Unmatched) and "no video files in the folder" in empty.reason
    assert entries[2] == batch_dir / WILDCARDS  # the file itself, not the look-alike too
    assert isinstance(nothing, Unmatched) and "no video files in the pattern" in nothing.reason
    # A glob still globs, and a file found by it may itself have glob characters in its name.
    assert expand_videos(str(batch_dir / "*.mp4")) == sorted(
        [batch_dir / BRACKETS, batch_dir / WILDCARDS, batch_dir / LOOKALIKE]
    )
    # An empty folder next to a good file is skipped; alone, it is an error that says why.
    assert expand_videos([batch_dir / "empty", batch_dir / BRACKETS]) == [batch_dir / BRACKETS]
    with pytest.raises(VideoNotFoundError, match="no video files in the folder"):
        expand_videos(batch_dir / "empty")


def test_index_many_reports_what_matched_nothing_and_indexes_the_rest(
    batch_dir: Path, tmp_path: Path
) -> None:
    settings = resolve_settings(
        {"db_path": str(tmp_path / "names.duckdb"), **CLIP_FLAGS}, env={}, config_path=os.devnull
    )
    results = index_many(arguments(batch_dir), settings=settings, workers=1)
    assert [r.status for r in results] == ["done", "failed", "done", "failed"], results
    assert [r.path for r in results] == arguments(batch_dir)
    assert "no video files in the folder" in results[1].error
    assert "no video files in the pattern" in results[3].error
    with Store.open(tmp_path / "names.duckdb") as store:
        titles = sorted(v.title for v in store.list_videos())
    assert titles == ["a*b?", "talk [1080p]"]


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIDEOIDX_CONFIG": os.devnull, "VIDEOIDX_INDEXER": "local"}
    env.update({f"VIDEOIDX_{k.upper()}": str(v) for k, v in CLIP_FLAGS.items()})
    return subprocess.run(
        [sys.executable, "-m", "videoidx", "index", "--db", str(db), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_cli_indexes_odd_names_and_goes_on_past_an_empty_folder(
    batch_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "cli.duckdb"
    alone = run_cli(str(batch_dir / BRACKETS), db=db)
    assert alone.returncode == 0, alone.stderr
    assert "talk [1080p]: done" in alone.stdout

    batch = run_cli("--workers", "2", *arguments(batch_dir), db=db)
    assert batch.returncode == 1, batch.stdout + batch.stderr  # something was reported
    assert "Traceback" not in batch.stderr
    lines = batch.stdout.splitlines()
    empty = [line for line in lines if line.startswith(str(batch_dir / "empty"))]
    nothing = [line for line in lines if line.startswith(str(batch_dir / "nothing-*.mkv"))]
    assert len(empty) == 1 and "no video files in the folder" in empty[0], lines
    assert len(nothing) == 1 and "no video files in the pattern" in nothing[0], lines
    assert any(line.startswith("a*b?: done") for line in lines), lines
    with Store.open(db) as store:
        assert sorted(v.title for v in store.list_videos()) == ["a*b?", "talk [1080p]"]

    # Nothing at all to index is a usage error (exit 2), in one line.
    none = run_cli(str(batch_dir / "empty"), str(batch_dir / "nothing-*.mkv"), db=db)
    assert none.returncode == 2
    assert none.stderr.startswith("videoidx: error: no video files in the folder")


def test_dry_run_expands_arguments_as_a_run_does(batch_dir: Path, tmp_path: Path) -> None:
    dry = run_cli("--dry-run", "--json", *arguments(batch_dir), db=tmp_path / "dry.duckdb")
    assert dry.returncode == 1, dry.stderr
    plans = json.loads(dry.stdout)
    assert [p["path"] for p in plans] == arguments(batch_dir)
    assert [p["error"] is None for p in plans] == [True, False, True, False]
    assert plans[0]["clips"] and plans[2]["clips"]
    assert "no video files in the folder" in plans[1]["error"]


def test_dry_run_takes_a_folder_and_a_glob_as_a_run_does(batch_dir: Path, tmp_path: Path) -> None:
    """A folder of videos and a glob that matches are planned, file by file, exactly as the
    real run expands them (the dry run used to reject both)."""
    for argument in (str(batch_dir), str(batch_dir / "*.mp4")):
        dry = run_cli("--dry-run", "--json", argument, db=tmp_path / "dry.duckdb")
        assert dry.returncode == 0, dry.stderr
        plans = json.loads(dry.stdout)
        assert [Path(p["path"]) for p in plans] == expand_videos(argument)
        assert len(plans) == 3 and all(p["clips"] and p["error"] is None for p in plans)
