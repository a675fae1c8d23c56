"""Time expressions in questions, read into filters: a table of questions and what they mean."""

from __future__ import annotations

import pytest

from videoidx.qa.timeexpr import clock, parse_seconds, parse_time_filter, span_text

N = None
# question -> (start_s, end_s, last_s, after, before, rest)
TABLE = [
    ("what happened between 5:00 and 6:00?", (300, 360, N, "", "", "what happened ?")),
    ("from 1:00 to 2:30 who talks", (60, 150, N, "", "", "who talks")),
    ("summary of 5:00-6:00", (300, 360, N, "", "", "summary of")),
    ("between 6:00 and 5:00", (300, 360, N, "", "", "")),
    ("between 5 and 6 minutes", (300, 360, N, "", "", "")),
    ("between 1:02:03 and 1:03:00", (3723, 3780, N, "", "", "")),
    ("what happens in the first minute", (0, 60, N, "", "", "what happens")),
    ("the first 30 seconds", (0, 30, N, "", "", "")),
    ("during the first two minutes", (0, 120, N, "", "", "")),
    ("what is said at the start", (0, 60, N, "", "", "what is said")),
    ("in the last 30 seconds, who speaks", (N, N, 30, "", "", ", who speaks")),
    ("the final minute", (N, N, 60, "", "", "")),
    ("what happens at the end?", (N, N, 60, "", "", "what happens ?")),
    ("after 2:00 and before 3:00 what", (120, 180, N, "", "", "and what")),
    ("anything after 90 seconds", (90, N, N, "", "", "anything")),
    ("what is on screen at 4:10", (240, 260, N, "", "", "what is on screen")),
    ("around 0:05 what colour", (0, 15, N, "", "", "what colour")),
    ("what happened after the explosion?", (N, N, N, "the explosion", "", "what happened ?")),
    ("he did what before she leaves and why", (N, N, N, "", "she leaves", "he did what and why")),
    ("when does the dog first appear?", (N, N, N, "", "", "when does the dog first appear?")),
    ("why did the car stop?", (N, N, N, "", "", "why did the car stop?")),
    ("the first time he smiles", (N, N, N, "", "", "the first time he smiles")),
    ("between 5:00 and 6:00 after the goal", (300, 360, N, "the goal", "", "")),
]  # fmt: skip


@pytest.mark.parametrize(("question", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_time_expressions(question: str, expected: tuple[object, ...]) -> None:
    tf = parse_time_filter(question)
    assert (tf.start_s, tf.end_s, tf.last_s, tf.after, tf.before, tf.rest) == expected
    assert tf.is_empty == all(v in (None, "") for v in expected[:5])
    assert len(tf.readings) >= (tf.start_s is not None or tf.last_s is not None)


def test_readings_say_how_the_question_was_read() -> None:
    assert parse_time_filter("between 5:00 and 6:00").readings == ("between 5:00 and 6:00",)
    assert parse_time_filter("in the last 90 seconds").readings == ("the last 1 min 30 s",)
    assert parse_time_filter("at 1:00:05").readings == ("at 1:00:05",)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5:00", 300.0), ("1:02:03", 3723.0), ("1:30.5", 90.5), ("90 seconds", 90.0),
        ("2 min", 120.0), ("1m30s", 90.0), ("1 hour", 3600.0), ("7", 7.0), ("soon", None),
        ("5 apples", None),
    ],
)  # fmt: skip
def test_parse_seconds(text: str, seconds: float | None) -> None:
    assert parse_seconds(text) == seconds


def test_clock_and_span_text() -> None:
    assert [clock(t) for t in (0, 59.9, 303.4, 3723)] == ["0:00", "0:59", "5:03", "1:02:03"]
    assert [span_text(t) for t in (30, 60, 90, 120)] == ["30 s", "1 min", "1 min 30 s", "2 min"]
