"""Transcribed segments are cut at long pauses, so each hit's window is one utterance."""

from __future__ import annotations

from videoidx.pipeline.pauses import PAUSE_S, split_at_pauses
from videoidx.types import SpeechSegment, Word


def _segment(text: str, words: list[tuple[float, float, str]]) -> SpeechSegment:
    w = tuple(Word(a, b, t, 0.9) for a, b, t in words)
    return SpeechSegment(w[0].start_s - 0.1, w[-1].end_s, text, w, "en", 0.8)


def test_two_sentences_said_far_apart_become_two_segments() -> None:
    # As faster-whisper with VAD returned it for two espeak-ng phrases 14 s apart.
    seg = _segment(
        "He forgot his key-matte-lit office. The concert starts after dinner.",
        [(24.17, 24.77, "He"), (24.77, 25.07, "forgot"), (25.07, 25.39, "his"),
         (25.39, 25.59, "key"), (25.59, 25.79, "-matte"), (25.79, 25.93, "-lit"),
         (25.93, 26.69, "office."), (40.71, 40.81, "The"), (40.81, 41.09, "concert"),
         (41.09, 41.59, "starts"), (41.59, 41.95, "after"), (41.95, 42.31, "dinner.")],
    )  # fmt: skip
    first, second = split_at_pauses([seg])
    assert (first.start_s, first.end_s, first.text) == (24.07, 26.69, seg.text[:35])
    assert (second.start_s, second.end_s) == (40.71, 42.31)
    assert second.text == "The concert starts after dinner."
    assert [len(first.words), len(second.words)] == [7, 5]
    assert second.language == "en" and second.confidence == 0.8


def test_short_pauses_and_wordless_segments_are_kept_whole() -> None:
    breath = PAUSE_S - 0.2
    seg = _segment("one two three", [(0.0, 0.5, "one"), (0.5 + breath, 1.5 + breath, "two"),
                                     (1.6 + breath, 2.0 + breath, "three")])  # fmt: skip
    bare = SpeechSegment(5.0, 9.0, "no word times here")
    assert split_at_pauses([seg, bare]) == [seg, bare]


def test_three_runs_and_text_that_does_not_hold_the_words() -> None:
    seg = _segment(
        "Tidied differently",
        [(0.0, 0.4, "a"), (3.0, 3.4, "b"), (3.5, 3.9, "c"), (9.0, 9.5, "d")],
    )
    assert [(s.start_s, s.end_s, s.text) for s in split_at_pauses([seg])] == [
        (-0.1, 0.4, "a"), (3.0, 3.9, "b c"), (9.0, 9.5, "d"),
    ]  # fmt: skip
