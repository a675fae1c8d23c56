"""A third indexer, added without touching videoidx: from the CLI, the page and Q&A.

The indexers are the minimal ones in :mod:`tests.echo_indexer`. In a child process they arrive
through the documented plugin hook (the ``videoidx.indexers`` entry-point group of an
"installed" distribution on ``PYTHONPATH``); in this process through ``register()``. Nothing in
``videoidx/`` or ``ui/`` knows their names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import videoidx
from indexers import REGISTRY, register
from tests.echo_indexer import (
    EchoIndexer,
    TalkingEchoIndexer,
    UndeclaredTalkerIndexer,
    plugin_dist,
)
from ui.server import make_context
from videoidx import Store, resolve_settings
from videoidx.qa.offline import LABEL

ROOT = Path(__file__).resolve().parents[1]
CLIP_FLAGS = {"clip_target_s": 6.0, "clip_min_s": 3.0, "clip_max_s": 9.0}


# -- the CLI, in a child process that finds the plugin by its entry points ---------------------


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = plugin_dist(tmp_path_factory.mktemp("plugin"))
    # A plugin that cannot be loaded is skipped with a warning; the others still work.
    broken = folder / "videoidx_broken-0.1.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: videoidx-broken\nVersion: 0.1\n")
    (broken / "entry_points.txt").write_text(
        "[videoidx.indexers]\nbroken = tests.no_such_module:Nothing\n"
    )
    return folder


def cli(*args: str, plugin_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VIDEOIDX_CONFIG": os.devnull,
        "PYTHONPATH": os.pathsep.join([str(plugin_path), str(ROOT)]),
        **{f"VIDEOIDX_{k.upper()}": str(v) for k, v in CLIP_FLAGS.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "videoidx", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_the_cli_indexes_and_answers_with_a_plugin_indexer(
    plugin_path: Path, colour_video: Path, tmp_path: Path
) -> None:
    db = tmp_path / "echo.duckdb"
    helped = cli("index", "--help", plugin_path=plugin_path)
    assert "echo: Echo (no key, free)" in " ".join(helped.stdout.split()), helped.stdout

    done = cli(
        "index", "--indexer", "echo", "--db", str(db), "--json", str(colour_video),
        plugin_path=plugin_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "indexer plugin broken" in done.stderr and "skipped" in done.stderr
    (result,) = json.loads(done.stdout)
    assert result["status"] == "done" and result["events"] > 0
    with Store.open(db) as store:
        events = store.events(result["video_id"])
    assert events and all(e.label == "echo frame" for e in events)
    with duckdb.connect(str(db), read_only=True) as con:  # the store as README shows it
        runs = con.sql("SELECT indexer, model FROM index_runs").fetchall()
    assert runs == [("echo", "echo-1")]

    talked = cli(
        "ask", "which echo frame comes first?", "--indexer", "echo-text", "--db", str(db), "--json",
        plugin_path=plugin_path,
    )  # fmt: skip
    assert talked.returncode == 0, talked.stderr
    answer = json.loads(talked.stdout)
    assert answer["mode"] == "generated" and answer["model"] == "echo-1"
    assert answer["text"].startswith("Echo heard: which echo frame comes first?")  # no <think> left
    assert [c["n"] for c in answer["citations"]] == [1]

    listed = cli(
        "ask", "which echo frame comes first?", "--indexer", "echo", "--db", str(db), "--json",
        plugin_path=plugin_path,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["text"].startswith(LABEL)


# -- the page and Q&A, in this process, through register() -----------------------------------


@pytest.fixture
def echoes() -> Iterator[None]:
    register("echo", EchoIndexer)
    register("echo-text", TalkingEchoIndexer)
    register("echo-undeclared", UndeclaredTalkerIndexer)
    yield
    for name in ("echo", "echo-text", "echo-undeclared"):
        REGISTRY.pop(name, None)


def test_the_page_lists_a_registered_indexer_and_indexes_with_it(
    echoes: None, colour_video: Path, tmp_path: Path
) -> None:
    from ui.app import Page

    settings = resolve_settings(
        {"db_path": str(tmp_path / "page.duckdb"), "upload_dir": str(tmp_path / "up"),
         **CLIP_FLAGS},
        env={},
    )  # fmt: skip
    ctx = make_context(settings)
    try:
        page = Page(ctx)
        page.build()
        assert ("Echo (no key, free)", "echo") in page.indexer_dd.choices
        assert ("Talking echo (no key, free)", "echo-text") in page.indexer_dd.choices
        # Choosing it hides the provider fields, the cost cap and the requests at once: it
        # offers, costs and sends nothing.
        updates = page.on_indexer("echo", "zai")
        assert [u["visible"] for u in updates] == [False] * 6
        form = ["echo", "zai", "", "", False, CLIP_FLAGS["clip_target_s"], 2, 0]
        assert "The Echo indexer runs on this machine" in page.on_estimate(
            [str(colour_video)], *form
        )

        upload = tmp_path / "incoming" / "colours.mp4"
        upload.parent.mkdir()
        shutil.copy(colour_video, upload)
        batch, message, *_ = page.on_start([str(upload)], *form)
        assert batch, message
        assert ctx.jobs.wait_idle(120)
        (job,) = [j for j in ctx.jobs.snapshot() if j.job_id in batch]
        assert job.status == "done" and job.result is not None, job.error
        events = ctx.store.events(job.result.video_id)
        assert events and all(e.label == "echo frame" for e in events)
    finally:
        ctx.jobs.close()
        ctx.store.close()


def test_ask_uses_complete_text_only_when_the_indexer_declares_it(
    echoes: None, colour_video: Path, tmp_path: Path
) -> None:
    settings = resolve_settings(
        {"db_path": str(tmp_path / "qa.duckdb"), "indexer": "echo", **CLIP_FLAGS}, env={}
    )
    result = videoidx.index_video(colour_video, settings=settings)
    assert result.status == "done" and result.events > 0

    question = "which echo frame comes first?"
    talking = videoidx.ask(question, settings=settings.replace(indexer="echo-text"))
    assert talking.mode == "generated" and talking.model == "echo-1"
    assert talking.text == "Echo heard: which echo frame comes first? [1]"
    assert talking.usage.requests == 1 and [c.n for c in talking.citations] == [1]

    for name in ("echo", "echo-undeclared"):
        extractive = videoidx.ask(question, settings=settings.replace(indexer=name))
        assert extractive.mode == "retrieved" and extractive.text.startswith(LABEL), name
        assert extractive.usage.requests == 0 and extractive.model == "", name
