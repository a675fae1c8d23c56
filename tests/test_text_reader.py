"""On-screen text through the real OCR model: slides at known times, natural footage, no engine.

The video is made of Pillow-drawn slides encoded by ffmpeg, its frames are sampled by the
project's own scanner (``videoidx.media.scan``) exactly as the pipeline samples them, and the
default engine (RapidOCR, the ``ocr`` extra) reads them. Times are checked to within one gap
between sampled frames.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from indexers.local import LocalIndexer
from indexers.text import TEXT_READERS, open_text_reader, same_text, text_reader_status
from indexers.text.base import TextReader, decode_jpeg
from indexers.text.rapid import RapidOcrReader, add_spaces
from indexers.text.spans import FrameRead, TextLine, build_spans
from tests.slides import Slide, make_slides_video, slide_starts_s
from videoidx.media.scan import scan_video
from videoidx.settings import Settings
from videoidx.types import ClipInput, Frame, ScreenText

ROOT = Path(__file__).resolve().parent.parent

SLIDES = (
    Slide(("Quarterly results 2026",), 10.0),
    Slide(("Revenue grew in every region",), 8.0),
    # One word changed: a new span, not the same text read again.
    Slide(("Revenue grew in every market",), 8.0),
    Slide((), 4.0),
)
# One clip for the whole video, so no span is split at a clip boundary. The default dedupe: the
# reader gets the scan's text frames (every candidate, not deduplicated), as in a run.
ONE_CLIP = {
    "clip_min_s": 8.0,
    "clip_target_s": 40.0,
    "clip_max_s": 60.0,
}

needs_rapidocr = pytest.mark.skipif(
    bool(RapidOcrReader.unavailable_reason()),
    reason=f"the OCR extra is not installed: {RapidOcrReader.unavailable_reason()}",
)


class CountingReader(RapidOcrReader):
    """The real engine, counting how many images it was asked to read and how long each took."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.seconds: list[float] = []

    def read_image(self, rgb: np.ndarray) -> list[TextLine]:
        started = time.perf_counter()
        try:
            return super().read_image(rgb)
        finally:
            self.seconds.append(time.perf_counter() - started)


def _sample(path: Path, settings: Settings) -> list[tuple[ClipInput, list[Frame]]]:
    """Each clip as a run hands it to the reader, with the text frames it reads."""
    media = dataclasses.replace(settings.media, text_long_side_px=RapidOcrReader.frame_long_side_px)
    scan = scan_video(path, media)
    out = []
    for clip, model_frames in scan:
        frames = scan.text_frames_of(clip)
        clip_input = ClipInput(
            scan.info, clip, tuple(model_frames), shot_cuts=scan.cuts_in(clip), text_frames=frames
        )
        out.append((clip_input, list(frames)))
    return out


def _max_gap_s(frames: list[Frame], end_s: float) -> float:
    times = [0.0, *sorted(f.time_s for f in frames), end_s]
    return max(b - a for a, b in itertools.pairwise(times))


@pytest.fixture(scope="module")
def slides_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_slides_video(tmp_path_factory.mktemp("slides") / "slides.mp4", SLIDES)


@needs_rapidocr
def test_slides_give_one_span_per_text_at_the_right_times(slides_video: Path) -> None:
    settings = Settings().replace(**ONE_CLIP)
    [(clip, frames)] = _sample(slides_video, settings)
    reader = CountingReader(settings)
    spans = reader.read_clip(clip)

    gap_s = _max_gap_s(frames, clip.clip.end_s)
    starts = slide_starts_s(SLIDES)
    expected = [
        (s.lines[0], start, start + s.duration_s)
        for s, start in zip(SLIDES, starts, strict=True)
        if s.lines
    ]
    assert [s.text for s in spans] == [text for text, _, _ in expected], spans
    for span, (_, start_s, end_s) in zip(spans, expected, strict=True):
        assert abs(span.start_s - start_s) <= gap_s, (span, start_s, gap_s)
        assert abs(span.end_s - end_s) <= gap_s, (span, end_s, gap_s)
        assert span.confidence is not None and span.confidence >= 0.9
        # Boxes are in the video's display pixels (1280x720), around the drawn line.
        assert span.box_px is not None
        x1, y1, x2, y2 = span.box_px
        assert 100 <= x1 < x2 <= 1280 and 150 <= y1 < y2 <= 300, span.box_px
    # The 10 s slide is one span although many frames show it; nothing after the last slide.
    assert spans[0].end_s - spans[0].start_s >= 10.0 - gap_s
    assert all(s.end_s <= starts[-1] + gap_s for s in spans)
    # A frame like the last one read is not read again: four pictures, about four reads.
    assert len(frames) >= 15
    assert len(reader.seconds) <= 6, (len(reader.seconds), len(frames))
    print(
        f"\nOCR of {frames[0].width_px}x{frames[0].height_px} sampled frames: "
        f"{len(reader.seconds)} of {len(frames)} read, "
        f"{sum(reader.seconds) / len(reader.seconds):.2f} s per read (wall, this machine)"
    )


@needs_rapidocr
@pytest.mark.parametrize("name", ["skv_bikes.mp4", "skv_bigbuckbunny.mp4", "mpy_chaplin.mp4"])
def test_natural_footage_gives_no_junk(media_dir: Path, name: str) -> None:
    # Cyclists, an animated rabbit, a silent film: texture the recogniser "reads" as single
    # characters at 0.1-0.4; none of it may become on-screen text.
    settings = Settings()
    reader = open_text_reader(settings)
    assert reader is not None
    spans = [s for clip, _ in _sample(media_dir / name, settings) for s in reader.read_clip(clip)]
    assert spans == []


@needs_rapidocr
def test_real_overlay_text_is_read_from_real_footage(media_dir: Path) -> None:
    # PySceneDetect's counter video burns in "Frame = N" and "PTS = t": each new number is new
    # text (a counter changing is not an OCR error), each read at its frame's time.
    settings = Settings()
    reader = open_text_reader(settings)
    assert reader is not None
    spans = [
        s
        for clip, _ in _sample(media_dir / "psd_counter.mp4", settings)
        for s in reader.read_clip(clip)
    ]
    frame_spans = [s for s in spans if s.text.startswith("Frame")]
    assert len(frame_spans) >= 2
    assert len({s.text for s in frame_spans}) == len(frame_spans)
    assert all(s.end_s > s.start_s for s in frame_spans)


@needs_rapidocr
def test_spaces_are_put_back_between_words() -> None:
    # PP-OCRv4 often runs English words together at the sizes sampled frames have; the gaps in
    # the line's pixels put the spaces back.
    from PIL import Image, ImageDraw

    from tests.slides import font

    img = Image.new("RGB", (448, 252), (30, 60, 120))
    ImageDraw.Draw(img).text((30, 100), "Quarterly results 2026", font=font(25), fill="white")
    reader = RapidOcrReader(Settings())
    lines = reader.read_image(np.asarray(img))
    assert [line.text for line in lines] == ["Quarterly results 2026"]
    # add_spaces alone: a wide blank gap between two characters becomes a space.
    crop = np.full((20, 60, 3), 255, np.uint8)
    crop[4:16, 2:20] = 0  # "ab" as one blob of ink, then a wide gap, then "c"
    crop[4:16, 32:44] = 0
    assert add_spaces("abc", [1, 5, 14], 20.0, crop) == "ab c"


def test_spans_from_reads() -> None:
    box = (0.0, 0.0, 10.0, 10.0)

    def read(t: float, *texts: str) -> FrameRead:
        return FrameRead(t, tuple(TextLine(x, 0.95, box) for x in texts))

    spans = build_spans(
        [
            read(0.0, "Quarterly results 2026"),
            read(1.0, "Quarterly resulits 2026"),  # an OCR slip seen here: the same text
            read(2.0, "Quarterly results 2026", "Frame = 6"),
            read(3.0, "Quarterly results 2026", "Frame = 7"),  # a counter: new text
            read(4.0),
            read(6.0, "Revenue grew in every region"),
            read(7.0, "Revenue grew in every market"),  # one word: new text
        ],
        end_s=8.0,
        scale=(2.0, 2.0),
    )
    assert [(s.start_s, s.end_s, s.text) for s in spans] == [
        (0.0, 4.0, "Quarterly results 2026"),
        (2.0, 3.0, "Frame = 6"),
        (3.0, 4.0, "Frame = 7"),
        (6.0, 7.0, "Revenue grew in every region"),
        (7.0, 8.0, "Revenue grew in every market"),
    ]
    assert spans[0].box_px == (0.0, 0.0, 20.0, 20.0)
    # A line missed by one read (a fade) and seen again right after is still one span.
    again = build_spans([read(0.0, "Title card"), read(1.0), read(2.0, "Title card")])
    assert [(s.start_s, s.end_s) for s in again] == [(0.0, 2.0)]
    assert same_text("Revenue up 14%", "revenue up 14 %")
    assert not same_text("PTS = 1.0s", "PTS = 2.0s")
    assert not same_text("", "")


def test_missing_engine_is_said_once_plainly(
    colour_video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Simulated by choosing an engine that is not installed here, not by hiding a module.
    if not TEXT_READERS["tesseract"].unavailable_reason():
        pytest.skip("tesseract is installed here; it cannot stand for a missing engine")
    settings = Settings().replace(ocr_engine="tesseract", **ONE_CLIP)
    status = text_reader_status(settings)
    assert not status.on and "tesseract" in status.reason
    assert "pip install 'videoidx[ocr]'" in status.reason
    indexer = LocalIndexer(settings)
    assert indexer.text_reader is None and indexer.cache_identity().endswith("|ocr=off")
    clips = _sample(colour_video, settings)
    with caplog.at_level(logging.WARNING):
        for clip, _ in clips + clips:
            indexer.analyze(clip)
    said = [r for r in caplog.records if "on-screen text" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in said]
    assert said[0].levelno == logging.WARNING
    assert "apt-get install tesseract-ocr" in said[0].getMessage()
    # Turned off on purpose: nothing to say.
    caplog.clear()
    quiet = LocalIndexer(settings.replace(ocr_engine="off"))
    with caplog.at_level(logging.WARNING):
        quiet.analyze(clips[0][0])
    assert not [r for r in caplog.records if "on-screen text" in r.getMessage()]


def test_config_shows_the_ocr_state_truthfully(tmp_path: Path) -> None:
    def config(engine: str) -> dict[str, object]:
        proc = subprocess.run(
            [sys.executable, "-m", "videoidx", "config", "--json"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VIDEOIDX_OCR_ENGINE": engine},
            capture_output=True,
            text=True,
            check=True,
        )
        state: dict[str, object] = json.loads(proc.stdout)["on_screen_text"]
        return state

    off = config("off")
    assert off["on"] is False and off["engine"] is None
    if not TEXT_READERS["tesseract"].unavailable_reason():
        pytest.skip("tesseract is installed here")
    missing = config("tesseract")
    assert missing["on"] is False and "tesseract binary is not on PATH" in str(missing["reason"])
    auto = config("auto")
    if RapidOcrReader.unavailable_reason():
        assert auto["on"] is False and "pip install 'videoidx[ocr]'" in str(auto["reason"])
    else:
        assert auto["on"] is True and auto["engine"] == "rapidocr"
        assert "1.4.4" in str(auto["version"])


@needs_rapidocr
def test_local_indexer_puts_text_into_its_events(slides_video: Path) -> None:
    settings = Settings().replace(**ONE_CLIP)
    indexer = LocalIndexer(settings)
    assert indexer.text_reader is not None
    assert "|ocr=rapidocr|rapidocr-onnxruntime 1.4.4" in indexer.cache_identity()
    [(clip, _)] = _sample(slides_video, settings)
    analysis = indexer.analyze(clip)
    texts = [e for e in analysis.events if e.label == "on-screen text"]
    assert [e.on_screen_text for e in texts] == [
        "Quarterly results 2026",
        "Revenue grew in every region",
        "Revenue grew in every market",
    ]
    shots = [e for e in analysis.events if e.label == "shot"]
    # Same background on every slide: one shot, which carries every text shown in it.
    assert any("Quarterly results 2026" in e.on_screen_text.splitlines() for e in shots)
    assert "on-screen text" in analysis.summary
    assert json.loads(analysis.raw_reply)["ocr"][0]["text"] == "Quarterly results 2026"


@needs_rapidocr
def test_text_the_pipeline_read_is_not_repeated_as_events(slides_video: Path) -> None:
    """The pipeline stores the spans it read as the on-screen text lane; events of the same text
    would show it twice on the timeline and three times in a search (event, span, shot)."""
    settings = Settings().replace(**ONE_CLIP)
    [(clip, _)] = _sample(slides_video, settings)
    spans = tuple(open_text_reader(settings).read_clip(clip))
    assert "Quarterly results 2026" in [t.text for t in spans]
    analysis = LocalIndexer(settings).analyze(dataclasses.replace(clip, screen_text=spans))
    assert not [e for e in analysis.events if e.label == "on-screen text"]
    shots = [e for e in analysis.events if e.label == "shot"]
    assert any("Quarterly results 2026" in e.on_screen_text.splitlines() for e in shots)


@needs_rapidocr
def test_one_model_shared_by_threads(slides_video: Path) -> None:
    # Readers built per indexer share the process's one model; calls from threads agree.
    settings = Settings().replace(**ONE_CLIP)
    [(_, frames)] = _sample(slides_video, settings)
    rgb = decode_jpeg(frames[0].jpeg)
    readers: list[TextReader] = [RapidOcrReader(settings) for _ in range(3)]
    results: list[list[str]] = []

    def work(r: TextReader) -> None:
        results.append([line.text for line in r.read_image(rgb)])

    threads = [threading.Thread(target=work, args=(r,)) for r in readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [["Quarterly results 2026"]] * 3
    from indexers.text import rapid

    assert rapid._ENGINE is not None


def test_cancel_stops_reading(slides_video: Path) -> None:
    settings = Settings().replace(**ONE_CLIP)
    reader = open_text_reader(settings)
    if reader is None:
        pytest.skip("no OCR engine here")
    [(clip, _)] = _sample(slides_video, settings)
    cancel = threading.Event()
    cancel.set()
    from videoidx.errors import CancelledError

    with pytest.raises(CancelledError):
        reader.read_clip(clip, cancel=cancel)


def test_screen_text_is_the_shared_type() -> None:
    spans = build_spans([FrameRead(1.0, (TextLine("Hello world", 0.9, (1, 2, 3, 4)),))])
    assert isinstance(spans[0], ScreenText)
