"""One clock format for people, one reader for typed times (``videoidx.times``)."""

from __future__ import annotations

import pytest

from videoidx.times import clock, clock_span, parse_seconds
from videoidx.wording import count, of_total


@pytest.mark.parametrize(
    ("seconds", "text", "with_tenths"),
    [
        (0, "0:00", "0:00.0"),
        (3.4, "0:03", "0:03.4"),  # 3.4 is 3.39999... as a float: still 0:03.4
        (3.45, "0:03", "0:03.4"),  # rounded down: never after the moment
        (8.0, "0:08", "0:08.0"),
        (59.99, "0:59", "0:59.9"),
        (61, "1:01", "1:01.0"),
        (303.4, "5:03", "5:03.4"),
        (3599, "59:59", "59:59.0"),
        (3600, "1:00:00", "1:00:00.0"),
        (3725.25, "1:02:05", "1:02:05.2"),
        (36000, "10:00:00", "10:00:00.0"),
        (-1, "0:00", "0:00.0"),
        (float("nan"), "0:00", "0:00.0"),
    ],
)
def test_clock(seconds: float, text: str, with_tenths: str) -> None:
    assert clock(seconds) == text
    assert clock(seconds, tenths=True) == with_tenths


@pytest.mark.parametrize(
    ("start_s", "end_s", "text"),
    [
        (0, 8, "0:00-0:08"),
        (5, 12.5, "0:05-0:12"),
        (3.4, 3.9, "0:03.4-0:03.9"),  # under a second: tenths, not "0:03-0:03"
        (0.0, 0.2, "0:00.0-0:00.2"),
        (10.0, 11.0, "0:10-0:11"),  # exactly a second needs no tenths
        (3599.5, 3600.2, "59:59.5-1:00:00.2"),
        (3600, 3725, "1:00:00-1:02:05"),
    ],
)
def test_clock_span(start_s: float, end_s: float, text: str) -> None:
    assert clock_span(start_s, end_s) == text
    assert clock_span(start_s, end_s, dash="–") == text.replace("-", "–")


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("90", 90.0),
        (" 7.5 ", 7.5),
        ("0:10", 10.0),
        ("1:30", 90.0),
        ("0:03.4", 3.4),
        ("1:02:03", 3723.0),
        ("90:00", 5400.0),  # minutes past 59 in a typed field
        ("100:00:00", 360000.0),
        ("95s", 95.0),
        ("1m30s", 90.0),
        ("2 minutes", 120.0),
        ("1h", 3600.0),
        ("1:75", None),  # seconds after a colon stay below 60
        ("1:5", None),
        ("1:02:60", None),
        ("soon", None),
        ("", None),
        ("-5", None),
        ("1:30 and more", None),
    ],
)
def test_parse_seconds(typed: str, seconds: float | None) -> None:
    assert parse_seconds(typed) == seconds


def test_what_clock_prints_reads_back() -> None:
    for t in (0, 8, 61, 3599, 3600, 3725, 36000):
        assert parse_seconds(clock(t)) == t
    assert parse_seconds(clock(3.4, tenths=True)) == pytest.approx(3.4)


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0 clips"), (1, "1 clip"), (2, "2 clips"), (21, "21 clips")]
)
def test_counts_agree_with_their_number(n: int, text: str) -> None:
    assert count(n, "clip") == text
    assert count(n, "child", "children").endswith("child" if n == 1 else "children")
    assert of_total(n, 1, "clip") == f"{n}/1 clip"
    assert of_total(1, n, "clip") == f"1/{text}"
