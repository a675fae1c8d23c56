"""Time expressions in a question, turned into filters: a pure parser, no store access.

It understands clock times (``5:00``, ``1:02:03``, ``1:30.5``) and durations (``90 seconds``,
``2 min``, ``1m30s``) in these forms:

* ``between 5:00 and 6:00``, ``from 1:00 to 2:00``, ``5:00-6:00``, ``between 5 and 6 minutes``
* ``in the first minute``, ``the first 30 seconds``, ``at the start``
* ``in the last 30 seconds``, ``the final two minutes``, ``at the end`` (resolved per video,
  because it depends on the video's length)
* ``after 2:00``, ``before 1:30``, ``since 0:45``, ``until 3:00``
* ``at 4:10``, ``around 4:10`` (a window of ``AROUND_S`` either side)
* ``after the explosion``, ``before she leaves``: an anchor phrase, which the retrieval step
  looks up in the store to find the anchor event's time; ``right after``, ``just before``,
  ``immediately after``, ``next after`` (and ``what comes after``) ask for what is next to the
  anchor, so the window leaves the anchor itself out (``TimeFilter.adjacent``). The adverb is
  part of the expression, never a word to search for: "right" left in ``rest`` matched nothing
  and turned a plain "what happens right after X?" into "nothing matches".

Everything matched is cut out of the question, so ``rest`` holds the words left to search for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from videoidx.times import CLOCK_RE, NUM_RE, UNIT_RE, UNIT_S, clock, parse_seconds

__all__ = ["TimeFilter", "clock", "parse_seconds", "parse_time_filter", "span_text"]

AROUND_S = 10.0
"""``at 4:10`` keeps events overlapping 4:00-4:20."""
EDGE_SPAN_S = 60.0
"""``at the start`` / ``at the end`` mean the first / last minute."""

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
}  # fmt: skip

_DURATION = rf"\d+(?:\.\d+)?\s*{UNIT_RE}(?:\s*\d+(?:\.\d+)?\s*(?:seconds?|secs?|s))?"
_TIME = rf"(?:{CLOCK_RE}|{_DURATION})\b"
_COUNT = r"(?:\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")"

_RANGE = re.compile(
    rf"\b(?:between|from)\s+(?P<a>{_TIME}|{NUM_RE})\s+(?:and|to|until|till)\s+(?P<b>{_TIME})",
    re.IGNORECASE,
)
_DASH_RANGE = re.compile(rf"(?P<a>{CLOCK_RE})\s*(?:-|–|to)\s*(?P<b>{CLOCK_RE})\b", re.IGNORECASE)
_FIRST = re.compile(
    rf"\b(?:(?:in|during|within)\s+)?the\s+first\s+(?:(?P<n>{_COUNT})\s+)?(?P<unit>{UNIT_RE})\b",
    re.IGNORECASE,
)
_LAST = re.compile(
    rf"\b(?:(?:in|during|within)\s+)?the\s+(?:last|final)\s+(?:(?P<n>{_COUNT})\s+)?"
    rf"(?P<unit>{UNIT_RE})\b",
    re.IGNORECASE,
)
_START = re.compile(r"\b(?:at|in|near)\s+the\s+(?:very\s+)?(?:start|beginning)\b", re.IGNORECASE)
_END = re.compile(r"\b(?:at|in|near)\s+the\s+(?:very\s+)?end\b", re.IGNORECASE)
# "what comes right after", "happens just before": how close to the anchor, and the verb that
# only asks for what follows; cut with the expression, as they name nothing to search for.
_CLOSE = (
    r"(?:(?:comes?|came)\s+)?"
    r"(?P<close>(?:right|just|immediately|directly|straight|shortly|soon|next)\s+)?"
)
_AFTER_TIME = re.compile(rf"\b{_CLOSE}(?:after|since|from)\s+(?P<t>{_TIME})", re.IGNORECASE)
_BEFORE_TIME = re.compile(rf"\b{_CLOSE}(?:before|until|till|by)\s+(?P<t>{_TIME})", re.IGNORECASE)
_AT_TIME = re.compile(rf"\b(?:at|around|near|about)\s+(?P<t>{_TIME})", re.IGNORECASE)
_ANCHOR = re.compile(
    rf"\b{_CLOSE}(?P<kind>after|before)\s+(?P<phrase>[^?.!,;]+?)\s*"
    r"(?=$|[?.!,;]|\band\b|\bbut\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TimeFilter:
    """What the question says about time. Seconds are absolute within each video."""

    start_s: float | None = None
    """Keep events that end at or after this time."""
    end_s: float | None = None
    """Keep events that start at or before this time."""
    last_s: float | None = None
    """Keep the final span of this many seconds of each video."""
    after: str = ""
    """An anchor phrase (``the explosion``): keep events from the anchor event on."""
    before: str = ""
    """An anchor phrase (``she leaves``): keep events up to the anchor event."""
    adjacent: bool = False
    """The anchor came with ``right``, ``just``, ``immediately``...: keep what starts from the
    anchor event's end (``after``) or ends by its start (``before``), the anchor left out."""
    rest: str = ""
    """The question with the time expressions cut out."""
    readings: tuple[str, ...] = ()
    """How each expression was read, for the answer's ``filters`` line."""

    @property
    def is_empty(self) -> bool:
        return (
            self.start_s is None
            and self.end_s is None
            and self.last_s is None
            and not self.after
            and not self.before
        )


def span_text(seconds: float) -> str:
    """A length for people: ``30`` -> ``30 s``, ``120`` -> ``2 min``, ``90`` -> ``1 min 30 s``."""
    m, s = divmod(round(seconds), 60)
    if not m:
        return f"{s} s"
    return f"{m} min" + (f" {s} s" if s else "")


def _count(text: str | None) -> float:
    if not text:
        return 1.0
    text = text.lower()
    return float(_NUMBER_WORDS[text]) if text in _NUMBER_WORDS else float(text)


def _unit_of(text: str) -> str:
    """The unit letter (h, m, s) a time text ends with, ``s`` for clock times."""
    found = re.findall(UNIT_RE, text.lower())
    return found[-1][0] if found else "s"


def _narrow(tf: TimeFilter, start_s: float | None, end_s: float | None) -> TimeFilter:
    """Intersect the filter with [start_s, end_s] (either side may be open)."""
    if start_s is not None:
        start_s = start_s if tf.start_s is None else max(tf.start_s, start_s)
    if end_s is not None:
        end_s = end_s if tf.end_s is None else min(tf.end_s, end_s)
    return replace(
        tf,
        start_s=tf.start_s if start_s is None else start_s,
        end_s=tf.end_s if end_s is None else end_s,
    )


def parse_time_filter(question: str) -> TimeFilter:
    """Read every time expression in ``question`` (see the module docstring)."""
    tf = TimeFilter()
    text = question
    readings: list[str] = []

    def cut(match: re.Match[str]) -> None:
        nonlocal text
        text = text[: match.start()] + " " + text[match.end() :]

    for pattern in (_RANGE, _DASH_RANGE):
        while m := pattern.search(text):
            b = parse_seconds(m["b"])
            a = parse_seconds(m["a"], default_unit=_unit_of(m["b"]))
            if a is None or b is None:  # pragma: no cover - the regex only admits times
                break
            lo, hi = min(a, b), max(a, b)
            tf = _narrow(tf, lo, hi)
            readings.append(f"between {clock(lo)} and {clock(hi)}")
            cut(m)
    while m := _FIRST.search(text):
        span = _count(m["n"]) * UNIT_S[m["unit"].lower()[0]]
        tf = _narrow(tf, 0.0, span)
        readings.append(f"the first {span_text(span)}")
        cut(m)
    while m := _START.search(text):
        tf = _narrow(tf, 0.0, EDGE_SPAN_S)
        readings.append(f"the first {span_text(EDGE_SPAN_S)}")
        cut(m)
    while m := _LAST.search(text):
        span = _count(m["n"]) * UNIT_S[m["unit"].lower()[0]]
        tf = replace(tf, last_s=span if tf.last_s is None else min(tf.last_s, span))
        readings.append(f"the last {span_text(span)}")
        cut(m)
    while m := _END.search(text):
        tf = replace(tf, last_s=EDGE_SPAN_S if tf.last_s is None else min(tf.last_s, EDGE_SPAN_S))
        readings.append(f"the last {span_text(EDGE_SPAN_S)}")
        cut(m)
    for pattern, side in ((_AFTER_TIME, "after"), (_BEFORE_TIME, "before"), (_AT_TIME, "at")):
        while m := pattern.search(text):
            t = parse_seconds(m["t"])
            assert t is not None  # the regex only admits times
            if side == "after":
                tf = _narrow(tf, t, None)
            elif side == "before":
                tf = _narrow(tf, None, t)
            else:
                tf = _narrow(tf, max(t - AROUND_S, 0.0), t + AROUND_S)
            readings.append(f"{side} {clock(t)}")
            cut(m)
    while m := _ANCHOR.search(text):
        phrase = " ".join(m["phrase"].split())
        if m["kind"].lower() == "after":
            tf = replace(tf, after=tf.after or phrase)
        else:
            tf = replace(tf, before=tf.before or phrase)
        if m["close"]:
            tf = replace(tf, adjacent=True)
        cut(m)
    return replace(tf, rest=" ".join(text.split()), readings=tuple(readings))
