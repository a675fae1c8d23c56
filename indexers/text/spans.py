"""Turn per-frame OCR reads into spans of on-screen text (pure: no engine, no image).

A text reader reads some of a clip's frames; each read is a list of :class:`TextLine`. This
module decides which lines of two reads are the same text (:func:`same_text`) and follows each
line from the first read that shows it to the first later read that no longer does
(:func:`build_spans`). Why that end and not the last read that showed it: slides and title cards
usually change at a hard cut, and the sampler puts a frame exactly on every cut, so the read that
no longer shows a line is the moment it went; ending at the last read that showed it would cut
every span short by up to one sampling gap.

What "the same text" means: OCR of the same pixels gives the same string, but the same words over
a changing picture (a caption over moving video, a fade) can come back with a letter or a space
different. Two lines are the same when their letters and digits (case, spaces and punctuation
ignored) are equal, or when they differ by at most ``MAX_EDIT_SHARE`` of their length and their
numbers are equal: a counter, a clock or a score that changes is new text, and so is a changed
word (a word differs by more than one letter in ten).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from videoidx.types import ScreenText

MAX_EDIT_SHARE = 0.1
"""Most edits (per letter or digit) between two reads of the same text."""
MERGE_GAP_S = 2.5
"""A line missed by one read and seen again this soon after is one span (an OCR miss on a fade
or a busy background), not two. A little over the sampler's default 2 s gap."""

_DIGITS_RE = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text read from one image, with the pixel box it was found in."""

    text: str
    confidence: float
    """0-1, as the engine reports it."""
    box_px: tuple[float, float, float, float]
    """``(x1, y1, x2, y2)`` in pixels of the image that was read."""


@dataclass(frozen=True, slots=True)
class FrameRead:
    """What was read from the frame at ``time_s`` (absolute seconds)."""

    time_s: float
    lines: tuple[TextLine, ...]


def letters(text: str) -> str:
    """The letters and digits of ``text``, case-folded: what two reads must agree on."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in norm if ch.isalnum())


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def same_text(a: str, b: str) -> bool:
    """Whether two reads are the same on-screen text (see the module docstring)."""
    la, lb = letters(a), letters(b)
    if la == lb:
        return bool(la)
    if not la or not lb or _DIGITS_RE.findall(la) != _DIGITS_RE.findall(lb):
        return False
    limit = int(MAX_EDIT_SHARE * max(len(la), len(lb)))
    return limit > 0 and _edit_distance(la, lb, limit) <= limit


@dataclass
class _Open:
    start_s: float
    last_s: float
    reads: list[TextLine] = field(default_factory=list)

    def text(self) -> str:
        # The reading given most often; among equals, the most confident.
        counts = Counter(r.text for r in self.reads)
        return max(self.reads, key=lambda r: (counts[r.text], r.confidence)).text


def _match(line: TextLine, spans: Sequence[_Open], taken: set[int]) -> int | None:
    for i, span in enumerate(spans):
        if i not in taken and any(same_text(line.text, r.text) for r in span.reads[-3:]):
            return i
    return None


def build_spans(
    reads: Sequence[FrameRead],
    *,
    end_s: float | None = None,
    scale: tuple[float, float] = (1.0, 1.0),
) -> list[ScreenText]:
    """Spans of text over ``reads`` (in time order), sorted by start then text.

    A line still shown by the last read runs to ``end_s`` when given (the end of the frames'
    clip), else to that read. Boxes are the span's most confident read, multiplied by ``scale``
    (x, y) to turn the read image's pixels into display pixels.
    """
    open_spans: list[_Open] = []
    closed: list[tuple[_Open, float]] = []
    for read in reads:
        taken: set[int] = set()
        fresh: list[_Open] = []
        for line in read.lines:
            i = _match(line, open_spans, taken)
            if i is None:
                fresh.append(_Open(read.time_s, read.time_s, [line]))
                continue
            taken.add(i)
            open_spans[i].reads.append(line)
            open_spans[i].last_s = read.time_s
        for i, span in enumerate(open_spans):
            if i not in taken:
                closed.append((span, read.time_s))
        open_spans = [s for i, s in enumerate(open_spans) if i in taken] + fresh
    last_s = reads[-1].time_s if reads else 0.0
    for span in open_spans:
        closed.append((span, max(end_s, last_s) if end_s is not None else last_s))
    return _join_gaps([_finish(span, end, scale) for span, end in closed])


def _finish(span: _Open, end_s: float, scale: tuple[float, float]) -> ScreenText:
    best = max(span.reads, key=lambda r: r.confidence)
    sx, sy = scale
    x1, y1, x2, y2 = best.box_px
    conf = sum(r.confidence for r in span.reads) / len(span.reads)
    return ScreenText(
        start_s=round(span.start_s, 3),
        end_s=round(max(end_s, span.start_s), 3),
        text=span.text(),
        confidence=round(conf, 3),
        box_px=(round(x1 * sx, 1), round(y1 * sy, 1), round(x2 * sx, 1), round(y2 * sy, 1)),
    )


def _join_gaps(spans: list[ScreenText]) -> list[ScreenText]:
    """Join a span to an earlier one of the same text that ended at most MERGE_GAP_S before."""
    out: list[ScreenText] = []
    for span in sorted(spans, key=lambda s: (s.start_s, s.end_s)):
        for k in range(len(out) - 1, -1, -1):
            prev = out[k]
            if 0 <= span.start_s - prev.end_s <= MERGE_GAP_S and same_text(prev.text, span.text):
                conf = max(prev.confidence or 0.0, span.confidence or 0.0)
                out[k] = ScreenText(
                    prev.start_s, max(prev.end_s, span.end_s), prev.text, conf, prev.box_px
                )
                break
        else:
            out.append(span)
    return sorted(out, key=lambda s: (s.start_s, s.text))
