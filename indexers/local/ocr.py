"""Optional on-screen text for the offline indexer, read by the ``tesseract`` binary if installed.

Nothing here is a dependency: :func:`find_tesseract` looks the binary up at run time and the
indexer skips OCR (logging at DEBUG) when it is absent. The binary is run directly on the JPEG
bytes of sampled frames (``stdin`` in, TSV out), so ``pytesseract`` is not needed either. Words
read with low confidence are dropped: on natural images tesseract otherwise "reads" texture.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

log = logging.getLogger(__name__)

MIN_WORD_CONF = 60.0
MIN_LINE_CHARS = 3
"""A line needs this many letters or digits to count; shorter ones are mostly noise."""
OCR_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Tesseract:
    """A found tesseract binary and its version line (part of the indexer's cache identity)."""

    path: str
    version: str


def find_tesseract() -> Tesseract | None:
    """The ``tesseract`` on PATH with its version, or None when absent or broken."""
    path = shutil.which("tesseract")
    if path is None:
        log.debug("tesseract not found on PATH; on-screen text is skipped")
        return None
    try:
        proc = subprocess.run(
            [path, "--version"], capture_output=True, timeout=OCR_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("tesseract at %s cannot run (%s); on-screen text is skipped", path, exc)
        return None
    text = (proc.stdout or proc.stderr).decode("utf-8", "replace").strip()
    version = text.splitlines()[0] if text else "tesseract"
    return Tesseract(path=path, version=version)


@dataclass(frozen=True)
class TextRead:
    """Lines read from one frame and the mean confidence (0-1) of their words."""

    lines: tuple[str, ...]
    confidence: float

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def parse_tsv(tsv: str) -> TextRead:
    """Confident lines from tesseract's TSV output (pure, tested with literal replies)."""
    lines: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        word = cols[11].strip()
        if not word or conf < MIN_WORD_CONF:
            continue
        lines.setdefault((cols[2], cols[3], cols[4]), []).append((word, conf))
    kept: list[str] = []
    confs: list[float] = []
    for words in lines.values():
        line = " ".join(w for w, _ in words)
        if len(re.findall(r"[^\W_]", line)) >= MIN_LINE_CHARS:
            kept.append(line)
            confs.extend(c for _, c in words)
    confidence = round(sum(confs) / len(confs) / 100.0, 3) if confs else 0.0
    return TextRead(lines=tuple(kept), confidence=confidence)


def read_text(tesseract: Tesseract, jpeg: bytes) -> TextRead:
    """OCR one JPEG frame; an OCR failure yields no text (logged at DEBUG), never an error."""
    # One thread per call: the pipeline already runs several clips at once.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        proc = subprocess.run(
            [tesseract.path, "stdin", "stdout", "--psm", "11", "tsv"],
            input=jpeg,
            capture_output=True,
            timeout=OCR_TIMEOUT_S,
            check=False,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("tesseract failed on a frame (%s); no text for it", exc)
        return TextRead(lines=(), confidence=0.0)
    if proc.returncode != 0:
        log.debug("tesseract exited %d: %s", proc.returncode, proc.stderr[-200:])
        return TextRead(lines=(), confidence=0.0)
    return parse_tsv(proc.stdout.decode("utf-8", "replace"))


def similar(a: str, b: str) -> bool:
    """Whether two reads are the same caption (word-set overlap of at least a half)."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    if not wa or not wb:
        return wa == wb
    return len(wa & wb) / len(wa | wb) >= 0.5
