"""Times as people write and read them: ``5:03``, ``1:02:03``, ``90 s``, ``1m30s``.

One place for the clock format shown everywhere (the CLI, answers, the web page): ``m:ss``, or
``h:mm:ss`` past an hour, and a span ``m:ss-m:ss`` that gets tenths (``0:03.4-0:03.9``) when it
is shorter than a second, so a brief event never reads ``0:03-0:03``. Standard file formats keep
their own clocks (WebVTT and SRT cues in ``store.export``). And one place for reading a time
someone typed (a question, a search filter, ``--from``): seconds, ``m:ss``, ``h:mm:ss``, units.
"""

from __future__ import annotations

import math
import re

UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0}
UNIT_RE = r"(?:hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)"
# Minutes and seconds after a colon stay below 60: "1:75" is not a time.
CLOCK_RE = r"\d{1,2}(?::[0-5]\d){1,2}(?:\.\d+)?"
NUM_RE = r"\d+(?:\.\d+)?"
# A whole typed field may hold any number of minutes or hours ("90:00", "100:00:00").
TYPED_CLOCK_RE = r"\d+(?::[0-5]\d){1,2}(?:\.\d+)?"
# Times are floats: 3.4 may be stored as 3.3999999; do not let that print as 0:03.3.
EPSILON_S = 1e-6


def parse_seconds(text: str, default_unit: str = "s") -> float | None:
    """``5:00`` -> 300, ``1:02:03`` -> 3723, ``90 seconds`` -> 90, ``1m30s`` -> 90, ``7`` -> 7
    (in ``default_unit``); None when ``text`` is not a time (``1:75`` is not)."""
    text = text.strip().lower()
    if re.fullmatch(TYPED_CLOCK_RE, text):
        total = 0.0
        for part in text.split(":"):
            total = total * 60 + float(part)
        return total
    if re.fullmatch(NUM_RE, text):
        return float(text) * UNIT_S[default_unit[0]]
    pieces = re.findall(rf"({NUM_RE})\s*({UNIT_RE})", text)
    if not pieces or re.sub(rf"{NUM_RE}\s*{UNIT_RE}", "", text).strip():
        return None
    return sum(float(n) * UNIT_S[unit[0]] for n, unit in pieces)


def clock(seconds: float, *, tenths: bool = False) -> str:
    """``303.4`` -> ``"5:03"``, ``3723`` -> ``"1:02:03"``, rounded down (a time shown is never
    after the moment); with ``tenths``, ``3.45`` -> ``"0:03.4"``."""
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    if tenths:
        whole_tenths = int(seconds * 10 + EPSILON_S)
        whole, tenth = divmod(whole_tenths, 10)
        suffix = f".{tenth}"
    else:
        whole, suffix = int(seconds + EPSILON_S), ""
    m, s = divmod(whole, 60)
    h, m = divmod(m, 60)
    return (f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}") + suffix


def clock_span(start_s: float, end_s: float, *, dash: str = "-") -> str:
    """``"0:05-0:12"``; ``"0:03.4-0:03.9"`` for a span shorter than a second."""
    tenths = end_s - start_s < 1.0
    return f"{clock(start_s, tenths=tenths)}{dash}{clock(end_s, tenths=tenths)}"
