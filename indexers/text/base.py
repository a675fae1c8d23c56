"""The interface every on-screen text reader (OCR engine) implements: frames in, text spans out.

A :class:`TextReader` turns a clip's sampled frames (:class:`~videoidx.types.Frame`: absolute
``time_s``, JPEG bytes, size) into :class:`~videoidx.types.ScreenText` spans. The base class does
the part every engine shares, so an engine only reads one image (:meth:`TextReader.read_image`):

* **which frames**: a clip's ``text_frames`` when the run decoded them (every sampling candidate,
  not deduplicated, at ``frame_long_side_px``: text under about 24 px in a 1080p frame is lost at
  the model's 448 px), else its model frames.
* **which frames are read**: the first frame, then every frame whose picture changed since the
  last frame read (a cheap grey-thumbnail difference, cell by cell, so one changed word on a slide
  counts), at most one every ``min_read_gap_s`` while the picture keeps changing (moving footage),
  except shot starts (``Frame.reason == "shot"``), which are always read when they differ. A frame
  like the last one read is not read again: it shows the same text.
* **noise**: lines below the engine's ``min_confidence`` or with fewer than ``MIN_CHARS`` letters
  or digits are dropped (natural pictures make OCR "read" texture).
* **spans**: repeated reads of the same text become one span (:mod:`indexers.text.spans`).

What a reader declares (class attributes, read without building one):

=====================  =======================================================================
``name``               The registry key (the ``ocr_engine`` setting).
``display_name``       How messages and ``videoidx config`` call it.
``needs_network``      It sends frames off this machine (the built-in engines do not).
``gives_boxes``        Its spans carry ``box_px``.
``auto_rank``          Order in which ``ocr_engine = "auto"`` tries engines (lower first);
                       None: chosen only by name.
``install_hint``       What to install to make it available, said when it is not.
``frame_long_side_px`` The long side of the frames the run decodes for it.
=====================  =======================================================================

Readers are built as ``cls(settings)``, must be safe to call from several threads, and load their
model once per process (not per reader, not per clip).
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from PIL import Image

from indexers.text.spans import FrameRead, TextLine, build_spans, letters
from videoidx.errors import CancelledError, ConfigError
from videoidx.settings import Settings
from videoidx.types import ClipInput, Frame, ScreenText

log = logging.getLogger(__name__)

SPANS_VERSION = "2"
"""Bump when frame choice, noise filtering or span building changes (part of cache_identity)."""
MIN_CHARS = 2
"""A line needs this many letters or digits; single characters are mostly texture."""
THUMB_LONG_SIDE_PX = 512
CELL_PX = 8
"""The change test compares mean grey levels of ``CELL_PX`` squares of a ``THUMB_LONG_SIDE_PX``
thumbnail, so a change confined to one word still shows as a changed cell. 512 px: a line of
18 px text in a 1080p frame is 8-9 px high there, a whole cell row; at 128 px (2 px) a changed
line of small text on the same slide went unseen, and at 256 px (4 px, half a cell) some did."""
CHANGED_CELL_DIFF = 0.04
"""A cell whose mean absolute difference (0-1) passes this means the picture changed. JPEG noise
between two encodings of the same picture stays under 0.01."""


def _grey_thumb(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = THUMB_LONG_SIDE_PX / max(h, w)
    size = (max(CELL_PX, round(w * scale)), max(CELL_PX, round(h * scale)))
    grey = Image.fromarray(rgb).convert("L").resize(size, Image.Resampling.BILINEAR)
    return np.asarray(grey, dtype=np.float32) / 255.0


def picture_changed(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two grey thumbnails differ anywhere by more than ``CHANGED_CELL_DIFF``."""
    if a.shape != b.shape:
        return True
    h, w = a.shape
    ch, cw = h // CELL_PX, w // CELL_PX
    diff = np.abs(a - b)[: ch * CELL_PX, : cw * CELL_PX]
    cells = diff.reshape(ch, CELL_PX, cw, CELL_PX).mean(axis=(1, 3))
    return bool(cells.max() > CHANGED_CELL_DIFF)


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """RGB ``(height, width, 3)`` uint8 pixels of a JPEG frame."""
    with Image.open(io.BytesIO(jpeg)) as img:
        return np.asarray(img.convert("RGB"))


class TextReader(ABC):
    """Read on-screen text from frames. Implementations must be safe to call from threads."""

    name: ClassVar[str]
    display_name: ClassVar[str] = ""
    needs_network: ClassVar[bool] = False
    gives_boxes: ClassVar[bool] = True
    auto_rank: ClassVar[int | None] = None
    install_hint: ClassVar[str] = ""
    min_confidence: ClassVar[float] = 0.5
    """Lines read with less (0-1, the engine's own scale) are dropped as noise."""
    frame_long_side_px: ClassVar[int] = 896
    """Read frames this large (long side, px): 18 px text in a 1080p frame is 8 px here, which
    RapidOCR still reads; at 448 px it reads garbage."""
    min_read_gap_s: ClassVar[float] = 2.0
    """While the picture keeps changing, read at most one frame this often (shot starts aside)."""

    def __init__(self, settings: Settings) -> None:
        """The registry builds every reader as ``cls(settings)`` with the resolved settings."""
        self.settings = settings

    @classmethod
    def unavailable_reason(cls) -> str:
        """Why this engine cannot run here (what is missing and how to install it), or ``""``.

        Cheap after the first call, and silent: callers decide whether and how to say it."""
        return ""

    @property
    @abstractmethod
    def version(self) -> str:
        """The engine and model version, e.g. ``rapidocr-onnxruntime 1.4.4 (PP-OCRv4)``."""

    def cache_identity(self) -> str:
        """Everything about this reader that changes its spans for the same frames."""
        return (
            f"{self.name}|{self.version}|conf>={self.min_confidence:g}|gap={self.min_read_gap_s:g}"
            f"|px={self.frame_long_side_px}|spans={SPANS_VERSION}"
        )

    def check_ready(self) -> None:
        """Raise :class:`~videoidx.errors.ConfigError` saying what to install when the engine
        cannot run here (for a caller that insists on text; the pipeline warns instead)."""
        reason = self.unavailable_reason()
        if reason:
            raise ConfigError(reason)

    @abstractmethod
    def read_image(self, rgb: np.ndarray) -> list[TextLine]:
        """Every line of text the engine finds in one upright RGB image, unfiltered, with boxes
        in that image's pixels."""

    def read(
        self,
        frames: Sequence[Frame],
        *,
        display_size_px: tuple[int, int] | None = None,
        end_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> list[ScreenText]:
        """Spans of on-screen text in ``frames`` (one clip's sampled frames, any order).

        A span runs from the first frame that shows the text to the first frame read after it
        that no longer does; text still shown on the last frame runs to ``end_s`` (the clip's
        end) when given, else to that frame. ``display_size_px`` (width, height) scales boxes
        from the frames' pixels to the video's display size. ``cancel`` stops between frames
        with :class:`~videoidx.errors.CancelledError`.
        """
        ordered = sorted(frames, key=lambda f: f.time_s)
        reads: list[FrameRead] = []
        last_thumb: np.ndarray | None = None
        last_lines: tuple[TextLine, ...] = ()
        last_read_s = -math.inf
        pending: tuple[Frame, np.ndarray, np.ndarray] | None = None
        started, n_read = time.perf_counter(), 0
        for frame in ordered:
            if cancel is not None and cancel.is_set():
                raise CancelledError("reading on-screen text was cancelled")
            rgb = decode_jpeg(frame.jpeg)
            thumb = _grey_thumb(rgb)
            if last_thumb is not None:
                if not picture_changed(last_thumb, thumb):
                    reads.append(FrameRead(frame.time_s, last_lines))
                    pending = None
                    continue
                if frame.reason != "shot" and frame.time_s - last_read_s < self.min_read_gap_s:
                    # Too soon after the last read; read it later if nothing else is.
                    pending = (frame, rgb, thumb)
                    continue
            last_lines = tuple(self._keep(self.read_image(rgb)))
            reads.append(FrameRead(frame.time_s, last_lines))
            last_thumb, last_read_s, n_read, pending = thumb, frame.time_s, n_read + 1, None
        if pending is not None:
            # The picture changed after the last read and no frame was read since: read the
            # last changed frame, so text read earlier does not run on past a known change.
            frame, rgb, _ = pending
            reads.append(FrameRead(frame.time_s, tuple(self._keep(self.read_image(rgb)))))
            n_read += 1
        scale = (1.0, 1.0)
        if display_size_px and ordered and ordered[0].width_px and ordered[0].height_px:
            scale = (
                display_size_px[0] / ordered[0].width_px,
                display_size_px[1] / ordered[0].height_px,
            )
        spans = build_spans(reads, end_s=end_s, scale=scale)
        log.debug(
            "%s read %d of %d frames in %.2f s: %d text span(s)",
            self.name,
            n_read,
            len(ordered),
            time.perf_counter() - started,
            len(spans),
        )
        return spans

    def read_clip(
        self, clip: ClipInput, *, cancel: threading.Event | None = None
    ) -> list[ScreenText]:
        """:meth:`read` on the clip's own text frames (else its model frames), those inside its
        bounds, boxes in the video's display pixels, spans ending at the clip's end at the
        latest."""
        spec = clip.clip
        frames = clip.text_frames or clip.frames
        inside = [f for f in frames if spec.start_s <= f.time_s <= spec.end_s]
        return self.read(
            inside,
            display_size_px=(clip.video.width_px, clip.video.height_px),
            end_s=spec.end_s,
            cancel=cancel,
        )

    def _keep(self, lines: Sequence[TextLine]) -> list[TextLine]:
        return [
            line
            for line in lines
            if line.confidence >= self.min_confidence and len(letters(line.text)) >= MIN_CHARS
        ]

    def close(self) -> None:  # noqa: B027 - optional hook; models are shared per process
        """Release what this reader holds (the built-in engines keep their model per process)."""
