"""Split transcribed segments where the speaker was silent for a while.

Whisper with voice activity detection decodes the speech it keeps as one stream, so two
sentences said 15 s apart (with a slide, or nothing, in between) can come back as ONE segment
whose word times restore the gap. Such a segment is a poor search hit: it covers the silence,
and its window overlaps neither sentence well. Every engine that gives word times has its
segments cut where one word ends at least :data:`PAUSE_S` before the next begins; segments
without word times are kept as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from videoidx.types import SpeechSegment, Word

PAUSE_S = 1.5
"""A gap between words this long is a pause between utterances, not a breath."""


def split_at_pauses(
    segments: Iterable[SpeechSegment], pause_s: float = PAUSE_S
) -> list[SpeechSegment]:
    """``segments`` with each one cut at its long pauses (see the module docstring)."""
    out: list[SpeechSegment] = []
    for seg in segments:
        runs = _runs(seg.words, pause_s)
        if len(runs) < 2:
            out.append(seg)
            continue
        texts = _texts(seg.text, runs)
        for n, (run, text) in enumerate(zip(runs, texts, strict=True)):
            start_s = min(seg.start_s, run[0].start_s) if n == 0 else run[0].start_s
            out.append(
                replace(seg, start_s=start_s, end_s=max(run[-1].end_s, start_s), text=text,
                        words=run)
            )  # fmt: skip
    return out


def _runs(words: tuple[Word, ...], pause_s: float) -> list[tuple[Word, ...]]:
    runs: list[list[Word]] = []
    for w in words:
        if runs and w.start_s - runs[-1][-1].end_s < pause_s:
            runs[-1].append(w)
        else:
            runs.append([w])
    return [tuple(r) for r in runs]


def _texts(text: str, runs: list[tuple[Word, ...]]) -> list[str]:
    """The segment's own text cut where its runs of words meet (it keeps the engine's spacing
    and punctuation); the words joined by spaces when they cannot be found in it in order."""
    pieces: list[str] = []
    pos = 0
    for run in runs[:-1]:
        for w in run:
            found = text.find(w.text, pos)
            if found < 0:
                return [" ".join(w.text for w in r) for r in runs]
            pos = found + len(w.text)
        pieces.append(text[:pos])
        text, pos = text[pos:], 0
    pieces.append(text)
    return [" ".join(p.split()) for p in pieces]
