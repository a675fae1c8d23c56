"""Times as people write and read them: ``5:03``, ``1:02:03``, ``90 s``, ``1m30s``.

One place for the clock format shown everywhere (answers, CLI, the web page) and for reading a
time someone typed (a question, a search filter).
"""

from __future__ import annotations

import re

UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0}
UNIT_RE = r"(?:hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)"
CLOCK_RE = r"\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?"
NUM_RE = r"\d+(?:\.\d+)?"


def parse_seconds(text: str, default_unit: str = "s") -> float | None:
    """``5:00`` -> 300, ``1:02:03`` -> 3723, ``90 seconds`` -> 90, ``1m30s`` -> 90, ``7`` -> 7
    (in ``default_unit``); None when ``text`` is not a time."""
    text = text.strip().lower()
    if re.fullmatch(CLOCK_RE, text):
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


def clock(seconds: float) -> str:
    """``303.4`` -> ``"5:03"``, ``3723`` -> ``"1:02:03"`` (whole seconds, rounded down)."""
    whole = max(int(seconds), 0)
    m, s = divmod(whole, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
