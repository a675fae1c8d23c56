"""Moment-retrieval files: queries with the time windows a correct answer must find.

Two formats are read, chosen by ``fmt`` or sniffed from the first line:

``charades``      Charades-STA: one query a line, ``VIDEO START END##query`` (seconds; the
                  name may hold spaces, the last two fields before ``##`` are the times)
``qvhighlights``  QVHighlights JSONL: one object a line with ``query``, ``vid`` and
                  ``relevant_windows`` (``[[start, end], ...]`` in seconds; ``qid`` kept if there)

Blank lines are skipped. Anything else that does not parse raises :class:`DatasetError` naming
the file and line, so a user fixing a hand-written file sees where to look.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videoidx.errors import DatasetError

FORMATS = ("auto", "charades", "qvhighlights")


@dataclass(frozen=True, slots=True)
class MomentQuery:
    """One query of a moment-retrieval file and its true windows ``(start_s, end_s)``."""

    video: str
    """The video's name as the file writes it (matched to the library later)."""
    query: str
    windows: tuple[tuple[float, float], ...]
    line: int
    qid: str = ""


def read_moments(path: str | Path, fmt: str = "auto") -> list[MomentQuery]:
    """Every query in the file at ``path``; see the module docstring for the formats."""
    path = Path(path)
    if fmt not in FORMATS:
        raise DatasetError(f"unknown moment-retrieval format {fmt!r}; use {', '.join(FORMATS)}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read moment-retrieval file {path}: {exc}") from exc
    lines = text.splitlines()
    if fmt == "auto":
        first = next((x.strip() for x in lines if x.strip()), "")
        fmt = "qvhighlights" if first.startswith("{") else "charades"
    parse = _qvhighlights_line if fmt == "qvhighlights" else _charades_line
    out = [parse(raw.strip(), n, path) for n, raw in enumerate(lines, 1) if raw.strip()]
    if not out:
        raise DatasetError(f"{path} holds no queries")
    return out


def _charades_line(line: str, n: int, path: Path) -> MomentQuery:
    where = f"{path} line {n}"
    head, sep, query = line.partition("##")
    fields = head.rsplit(None, 2)  # a video named by its title may hold spaces
    if not sep or len(fields) != 3:
        raise DatasetError(
            f"{where}: expected 'VIDEO START END##query' (Charades-STA), got {line[:80]!r}"
        )
    start_s, end_s = (_seconds(x, where) for x in fields[1:])
    return MomentQuery(fields[0], _query(query, where), (_window(start_s, end_s, where),), n)


def _qvhighlights_line(line: str, n: int, path: Path) -> MomentQuery:
    where = f"{path} line {n}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not a JSON object (QVHighlights JSONL): {exc}") from exc
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [k for k in ("query", "vid", "relevant_windows") if k not in row]
    if missing:
        unlabelled = missing == ["relevant_windows"]
        hint = " (the QVHighlights test split has no labels)" if unlabelled else ""
        raise DatasetError(f"{where}: missing {', '.join(missing)}{hint}")
    raw = row["relevant_windows"]
    if not isinstance(raw, list) or not raw:
        raise DatasetError(f"{where}: relevant_windows must be a non-empty list of [start, end]")
    windows = []
    for w in raw:
        if not isinstance(w, list) or len(w) != 2:
            raise DatasetError(f"{where}: a relevant window is not [start, end]: {w!r}")
        windows.append(_window(_seconds(w[0], where), _seconds(w[1], where), where))
    vid = str(row["vid"]).strip()
    if not vid:
        raise DatasetError(f"{where}: vid is empty")
    return MomentQuery(
        vid, _query(str(row["query"]), where), tuple(windows), n, str(row.get("qid", ""))
    )


def _seconds(value: Any, where: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: {value!r} is not a time in seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise DatasetError(f"{where}: {value!r} is not a time in seconds")
    return seconds


def _window(start_s: float, end_s: float, where: str) -> tuple[float, float]:
    if end_s < start_s:
        raise DatasetError(
            f"{where}: the window ends ({end_s:g} s) before it starts ({start_s:g} s)"
        )
    return start_s, end_s


def _query(text: str, where: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise DatasetError(f"{where}: the query is empty")
    return text
