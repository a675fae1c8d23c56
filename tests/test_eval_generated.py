"""The generated moment-retrieval set, indexed offline with the defaults, scored by ``eval``.

One video of three topics from :mod:`benchmarks.retrieval_data` (a slide, then colour footage
with an espeak-ng phrase, three times), indexed with the default settings and no key: the real local
indexer, faster-whisper tiny.en and RapidOCR. Spoken and written queries must find their moment
as the top hit (the benchmark's R1@IoU0.5 target on a small scale). These three topics are the
ones whose second and third phrases (16 s apart, in one clip) Whisper's VAD once returned as one
segment covering the silence between them (see ``videoidx.pipeline.pauses``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks.retrieval_data import COLOUR_S, SLIDE_S, TOPICS, make_video, write_sets
from videoidx.evaluate import evaluate
from videoidx.pipeline.run import index_video
from videoidx.settings import resolve_settings
from videoidx.store import Store

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed: `apt-get install espeak-ng` (python -m tests does)",
)


def test_generated_spoken_and_written_moments_are_found_offline(tmp_path: Path) -> None:
    moments = make_video(tmp_path / "retrieval_1.mp4", TOPICS[4:7])
    spoken = [m for m in moments if m.kind == "spoken"]
    # Each phrase is said inside its colour segment, after the slide before it.
    for n, m in enumerate(spoken):
        segment_s = n * (SLIDE_S + COLOUR_S) + SLIDE_S
        assert segment_s < m.start_s < m.end_s < segment_s + COLOUR_S
    sets = write_sets(tmp_path, moments)
    db = tmp_path / "s.duckdb"
    settings = resolve_settings({"db_path": str(db)}, env={}, config_path=os.devnull)
    assert index_video(tmp_path / "retrieval_1.mp4", settings=settings).status == "done"
    with Store.open(db) as store:
        said = evaluate(store, sets["spoken"], mode="keyword")
        shown = evaluate(store, sets["written"], mode="keyword")
    for report in (said, shown):
        kw = report.modes["keyword"]
        assert (report.evaluated, kw.r1_iou_05) == (3, 1.0), report.results
        assert report.baseline is not None and report.baseline.r1_iou_05 < kw.r1_iou_05
    kinds = {r.hit_kinds[0] for r in said.results}
    assert kinds == {"speech"}
