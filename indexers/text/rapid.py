"""The default on-screen text reader: RapidOCR (PP-OCRv4 models as ONNX, inside the pip wheel).

``pip install 'videoidx[ocr]'`` installs ``rapidocr-onnxruntime==1.4.4``, whose wheel carries the
detection, direction and recognition models (about 15 MB), so it reads text on a machine with no
network. (The newer ``rapidocr`` 3.x downloads its models at run time instead.) It needs
``opencv-python``, which needs the system's ``libGL``.

Two things differ from calling ``RapidOCR()(image)``:

* **spaces**: the PP-OCRv4 recogniser often runs English words together ("Quarterlyresults2026").
  Its decoder says where along the line each character sits; where a blank gap wide enough to be
  a word space falls between two characters, a space is put back (:func:`add_spaces`), so
  "Quarterly results 2026" can be searched word by word. (The package's own grouping, a gap of
  more than four decoder steps, misses most spaces at the sizes sampled frames have.)
* **one model per process**, loaded on first use, with ONNX Runtime limited to ``OCR_THREADS``
  threads, and calls serialised by a lock: the package's objects keep per-call state, and on a
  small machine two OCR calls at once would only fight for the same cores.

The steps (detect, crop, orient, recognise) are the package's own, called one by one as its
``RapidOCR.__call__`` does for an image of ordinary proportions; the version is pinned because
these are not its documented API.
"""

from __future__ import annotations

import threading
from importlib import metadata
from typing import Any, ClassVar

import numpy as np

from indexers.text.base import TextReader
from indexers.text.spans import TextLine

PACKAGE = "rapidocr-onnxruntime"
PINNED = "1.4.4"
OCR_THREADS = 2
"""ONNX Runtime threads for one OCR call (calls run one at a time per process)."""
INSTALL = "pip install 'videoidx[ocr]'"

_LOCK = threading.Lock()
_ENGINE: Any = None
_IMPORT_ERROR: str | None = None
_CHECKED = False


def _import_error() -> str:
    """The reason the package cannot be imported, or "" (checked once per process)."""
    global _CHECKED, _IMPORT_ERROR
    with _LOCK:
        if not _CHECKED:
            _CHECKED = True
            try:
                import rapidocr_onnxruntime  # noqa: F401
            except ModuleNotFoundError as exc:
                _IMPORT_ERROR = f"{PACKAGE} is not installed ({exc.name} missing)"
            except Exception as exc:  # a broken cv2 (no libGL) or onnxruntime
                _IMPORT_ERROR = f"{PACKAGE} is installed but cannot be loaded ({exc})"
                if ".so" in str(exc):  # libGL.so.1 or libgthread-2.0.so.0, for opencv-python
                    _IMPORT_ERROR += (
                        "; OpenCV needs system libraries (Debian/Ubuntu: "
                        "apt-get install libgl1 libglib2.0-0)"
                    )
        return _IMPORT_ERROR or ""


def _engine() -> Any:
    """The process's one RapidOCR object (call with ``_LOCK`` held)."""
    global _ENGINE
    if _ENGINE is None:
        from rapidocr_onnxruntime import RapidOCR

        _ENGINE = RapidOCR(intra_op_num_threads=OCR_THREADS, inter_op_num_threads=1)
    return _ENGINE


SPACE_GAP_SHARE = 0.25
"""A blank gap in a text line at least this share of the line's height is a word space: spaces
run 0.3-0.4 of the height in the fonts tried (DejaVu Sans, Serif and Mono, 9-28 px lines) and
gaps between letters of a word at most 0.22 (monospace; 0.2 split its words). Liberation Serif's
narrower spaces are sometimes missed at this share."""


def blank_gaps(crop: np.ndarray) -> list[tuple[int, int]]:
    """Inner runs ``(x0, x1)`` of pixel columns without ink in a text line's crop (BGR or RGB).

    Ink is whatever stands out from the line's background (its median grey), light on dark or
    dark on light; over a busy background nothing is blank and no run is found."""
    grey = crop.astype(np.float32).mean(axis=2)
    dev = np.abs(grey - np.median(grey))
    ink = (dev > max(0.35 * float(dev.max()), 30.0)).any(axis=0)
    runs, x, w = [], 0, len(ink)
    while x < w:
        if ink[x]:
            x += 1
            continue
        start = x
        while x < w and not ink[x]:
            x += 1
        if start > 0 and x < w:
            runs.append((start, x))
    return runs


def add_spaces(text: str, cols: list[int], col_num: float, crop: np.ndarray) -> str:
    """``text`` with a space wherever a wide blank gap in ``crop`` falls between two characters
    the recogniser ran together; ``cols`` are the characters' positions along the line in
    ``col_num`` equal columns (the decoder's time steps)."""
    h, w = crop.shape[:2]
    if len(cols) != len(text) or col_num <= 0 or len(text) < 2:
        return text
    wide = max(2.0, SPACE_GAP_SHARE * h)
    centres = [(c + 0.5) * w / col_num for c in cols]
    cuts = set()
    for x0, x1 in blank_gaps(crop):
        if x1 - x0 < wide:
            continue
        mid = (x0 + x1) / 2
        for i in range(len(text) - 1):
            if centres[i] < mid < centres[i + 1] and not (
                text[i].isspace() or text[i + 1].isspace()
            ):
                cuts.add(i + 1)
    out = "".join((" " + ch) if i in cuts else ch for i, ch in enumerate(text))
    return " ".join(out.split())


class RapidOcrReader(TextReader):
    """PP-OCRv4 (Chinese and English, printed text) through ONNX Runtime, offline."""

    name = "rapidocr"
    display_name = "RapidOCR (PP-OCRv4)"
    auto_rank = 0
    install_hint = INSTALL
    # Its recogniser's scores run high: real text reads 0.9-1.0 and texture 0.5-0.8 (see the
    # natural-footage test), so lines under 0.8 are dropped.
    min_confidence: ClassVar[float] = 0.8

    @classmethod
    def unavailable_reason(cls) -> str:
        reason = _import_error()
        if reason:
            return f"{reason}; install it with: {INSTALL}"
        found = metadata.version(PACKAGE)
        if found != PINNED:
            return f"{PACKAGE} {found} is installed, videoidx reads text with {PINNED}: {INSTALL}"
        return ""

    @property
    def version(self) -> str:
        return f"{PACKAGE} {metadata.version(PACKAGE)} (PP-OCRv4)"

    def read_image(self, rgb: np.ndarray) -> list[TextLine]:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with _LOCK:
            engine = _engine()
            boxes, _ = engine.text_det(bgr)
            if boxes is None or len(boxes) == 0:
                return []
            boxes = engine.sorted_boxes(boxes)
            crops = engine.get_crop_img_list(bgr, boxes)
            crops, _, _ = engine.text_cls(crops)
            recognised, _ = engine.text_rec(crops, True)
        lines = []
        for box, crop, (text, score, info) in zip(boxes, crops, recognised, strict=True):
            cols = [c for word in info[2] for c in word]
            xs, ys = np.asarray(box)[:, 0], np.asarray(box)[:, 1]
            lines.append(
                TextLine(
                    text=add_spaces(text, cols, float(info[0]), crop),
                    confidence=float(score),
                    box_px=(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())),
                )
            )
        return [line for line in lines if line.text]
