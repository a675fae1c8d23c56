"""On-screen text is read from its own frames: the ones where the picture changed (not the model's
deduplicated frames) and at about 896 px (not the model's 448 px).

The hard case, drawn with Pillow at known times in a 1080p video: two slides on the same white
background with the same big title, differing only in one line of 18 px text. To the sampler's
near-duplicate test the second slide is the first one again (the model's frames skip it), and at
448 px the small line is unreadable. Indexed with the default settings, both lines must be found,
each at its own time; read the old way (the model's frames), the second line is lost.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from indexers.text.rapid import RapidOcrReader
from tests.test_text_reader import CountingReader
from videoidx.media.probe import probe
from videoidx.media.scan import Scan
from videoidx.media.synth import Caption, Segment, make_video, segment_starts_s
from videoidx.pipeline.run import index_video
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store
from videoidx.types import ClipInput

pytestmark = pytest.mark.skipif(
    bool(RapidOcrReader.unavailable_reason()),
    reason=f"the OCR extra is not installed: {RapidOcrReader.unavailable_reason()}",
)

TITLE = Caption("Budget review", 72)
FIRST = "The meeting starts at nine in room four"
SECOND = "The meeting moved to eleven in room seven"
SEGMENTS = (
    Segment("white", 8.0, captions=(TITLE, Caption(FIRST, 18))),
    Segment("white", 8.0, captions=(TITLE, Caption(SECOND, 18))),
    Segment("white", 4.0),
)
ONE_CLIP = {"clip_min_s": 8.0, "clip_target_s": 30.0, "clip_max_s": 40.0}
"""One clip for the whole video: the change happens inside a clip, where dedupe acts."""


@pytest.fixture(scope="module")
def slides_1080p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("smalltext") / "small_text_1080p.mp4"
    return make_video(path, SEGMENTS, width_px=1920, height_px=1080, audio=False, crf=20)


def _settings(db: Path, **flags: object) -> Settings:
    return resolve_settings(
        {"db_path": str(db), "ocr_engine": "rapidocr", **ONE_CLIP, **flags},
        env={},
        config_path=os.devnull,
    )


def _lines(store: Store, video_id: str) -> list[tuple[str, float, float]]:
    rows = store.sql(
        "SELECT text, start_s, end_s FROM screen_text WHERE video_id = ? ORDER BY start_s",
        [video_id],
    )
    return [(str(t).lower(), float(a), float(b)) for t, a, b in rows]


def test_a_small_text_change_on_the_same_slide_is_read_at_its_time(
    slides_1080p: Path, tmp_path: Path
) -> None:
    db = tmp_path / "lib.duckdb"
    result = index_video(slides_1080p, settings=_settings(db))
    assert result.status == "done", result
    change_s = segment_starts_s(SEGMENTS)[1]
    with Store.open(db) as store:
        lines = _lines(store, result.video_id)
    first = [x for x in lines if "nine" in x[0] and "four" in x[0]]
    second = [x for x in lines if "eleven" in x[0] and "seven" in x[0]]
    assert first and second, lines
    # Fill frames come at most 2 s apart (frame_max_gap_s): each line starts within one gap of
    # its slide, and the first one ends where the second begins.
    assert first[0][1] <= 2.0, first
    assert change_s <= second[0][1] <= change_s + 2.0, second
    assert change_s <= first[0][2] <= change_s + 2.0, first
    assert all(x[1] < change_s for x in first), first
    # The words themselves, not a guess at them (RapidOCR reads 18 px at 896 px cleanly).
    assert FIRST.lower() in {x[0] for x in first}, first
    assert SECOND.lower() in {x[0] for x in second}, second


def test_the_model_frames_alone_lose_the_second_line(slides_1080p: Path) -> None:
    """The reason for text frames: what the reader got before them misses the change."""
    settings = _settings(Path(os.devnull))
    info = probe(slides_1080p)
    scan = Scan(info, dataclasses.replace(settings.media, text_long_side_px=896))
    [(clip, frames)] = list(scan)
    text_frames = scan.text_frames_of(clip)
    # The model's frames: deduplicated (the second slide is a near-duplicate) and 448 px.
    assert max(f.width_px for f in frames) == 448
    assert not [f for f in frames if 8.0 <= f.time_s < 16.0], [f.time_s for f in frames]
    # The reader's: every candidate, about one a second, at 896 px; each clip's only once.
    assert {f.width_px for f in text_frames} == {896}
    assert len([f for f in text_frames if 8.0 <= f.time_s < 16.0]) >= 7
    assert scan.text_frames_of(clip) == ()

    reader = CountingReader(settings)
    old = reader.read_clip(ClipInput(info, clip, tuple(frames)))
    assert not [s for s in old if "eleven" in s.text.lower()], old
    n_old = len(reader.seconds)
    new = reader.read_clip(ClipInput(info, clip, tuple(frames), text_frames=text_frames))
    assert [s for s in new if "eleven" in s.text.lower()], new
    # Only frames whose picture changed are read: three pictures, a handful of reads.
    assert len(reader.seconds) - n_old <= 5, len(reader.seconds) - n_old
