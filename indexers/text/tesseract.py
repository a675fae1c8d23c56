"""An optional on-screen text reader: the ``tesseract`` binary, when it is installed.

A system package (Debian ``tesseract-ocr``), not a pip one, so it is there only where someone
installed it; ``ocr_engine = "tesseract"`` chooses it, and ``"auto"`` falls back to it when the
pip engine is missing. The binary runs on each image (PNG on ``stdin``, TSV on ``stdout``), so
``pytesseract`` is not needed. Words read with low confidence are dropped: on natural images
tesseract otherwise "reads" texture.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
from PIL import Image

from indexers.text.base import TextReader
from indexers.text.spans import TextLine

log = logging.getLogger(__name__)

MIN_WORD_CONF = 60.0
"""Tesseract's word confidence (0-100) below which a word is dropped."""
MIN_LINE_CHARS = 3
"""A line needs this many letters or digits to count; shorter ones are mostly noise."""
OCR_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Tesseract:
    """A found tesseract binary and its version line (part of the reader's cache identity)."""

    path: str
    version: str


@lru_cache(maxsize=1)
def find_tesseract() -> Tesseract | None:
    """The ``tesseract`` on PATH with its version, or None when absent or broken."""
    path = shutil.which("tesseract")
    if path is None:
        return None
    try:
        proc = subprocess.run(
            [path, "--version"], capture_output=True, timeout=OCR_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("tesseract at %s cannot run (%s)", path, exc)
        return None
    text = (proc.stdout or proc.stderr).decode("utf-8", "replace").strip()
    version = text.splitlines()[0] if text else "tesseract"
    return Tesseract(path=path, version=version)


def parse_tsv_lines(tsv: str) -> list[TextLine]:
    """Confident lines, with boxes and mean confidence (0-1), from tesseract's TSV output."""
    lines: dict[tuple[str, str, str], list[tuple[str, float, tuple[int, int, int, int]]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        try:
            conf = float(cols[10])
            left, top, width, height = (int(c) for c in cols[6:10])
        except ValueError:
            continue
        word = cols[11].strip()
        if not word or conf < MIN_WORD_CONF:
            continue
        key = (cols[2], cols[3], cols[4])
        lines.setdefault(key, []).append((word, conf, (left, top, left + width, top + height)))
    out = []
    for words in lines.values():
        text = " ".join(w for w, _, _ in words)
        if len(re.findall(r"[^\W_]", text)) < MIN_LINE_CHARS:
            continue
        boxes = [b for _, _, b in words]
        out.append(
            TextLine(
                text=text,
                confidence=round(sum(c for _, c, _ in words) / len(words) / 100.0, 3),
                box_px=(
                    float(min(b[0] for b in boxes)),
                    float(min(b[1] for b in boxes)),
                    float(max(b[2] for b in boxes)),
                    float(max(b[3] for b in boxes)),
                ),
            )
        )
    return out


@dataclass(frozen=True)
class TextRead:
    """Lines read from one image and the mean confidence (0-1) of their words."""

    lines: tuple[str, ...]
    confidence: float


def parse_tsv(tsv: str) -> TextRead:
    """The confident lines' text (pure, tested with literal replies)."""
    lines = parse_tsv_lines(tsv)
    conf = sum(line.confidence for line in lines) / len(lines) if lines else 0.0
    return TextRead(lines=tuple(line.text for line in lines), confidence=round(conf, 3))


class TesseractReader(TextReader):
    """Tesseract's LSTM engine, through its command-line binary."""

    name = "tesseract"
    display_name = "Tesseract"
    auto_rank = 10
    install_hint = "install the tesseract binary (Debian: apt-get install tesseract-ocr)"
    # Words are already filtered at MIN_WORD_CONF; a line's mean is then at least 0.6.
    min_confidence: ClassVar[float] = 0.6

    @classmethod
    def unavailable_reason(cls) -> str:
        if find_tesseract() is None:
            return (
                f"the tesseract binary is not on PATH; {cls.install_hint}, or read text with "
                "RapidOCR instead: pip install 'videoidx[ocr]' and ocr_engine = \"auto\""
            )
        return ""

    @property
    def version(self) -> str:
        found = find_tesseract()
        return found.version if found else "tesseract (missing)"

    def read_image(self, rgb: np.ndarray) -> list[TextLine]:
        found = find_tesseract()
        if found is None:
            return []
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG")
        # One thread per call: the pipeline already runs several clips at once.
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            proc = subprocess.run(
                [found.path, "stdin", "stdout", "--psm", "11", "tsv"],
                input=buf.getvalue(),
                capture_output=True,
                timeout=OCR_TIMEOUT_S,
                check=False,
                env=env,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.debug("tesseract failed on a frame (%s); no text for it", exc)
            return []
        if proc.returncode != 0:
            log.debug("tesseract exited %d: %s", proc.returncode, proc.stderr[-200:])
            return []
        return parse_tsv_lines(proc.stdout.decode("utf-8", "replace"))
