"""The answer without a model: the best-matching events and the causal chain around them.

It is extractive and says so in its first words (:data:`LABEL`), so nobody mistakes a list of
retrieved moments for a generated answer. It cites ``[n]`` like a generated answer, so every
front end renders both the same way.
"""

from __future__ import annotations

from videoidx.qa.records import Citation
from videoidx.qa.retrieve import Evidence
from videoidx.times import clock, clock_span

LABEL = "Retrieved (no model configured):"
TOP_MATCHES = 3
"""Best-matching events listed for a keyword or character question."""
TOP_WINDOW = 8
"""Events listed, in time order, for a question that is only a time window."""


def _describe(c: Citation) -> str:
    where = f"{c.title} {clock_span(c.start_s, c.end_s)}" if c.title else clock(c.start_s)
    text = f"[{c.n}] {c.label} ({where})"
    return text + (f": {c.description}" if c.description else "")


def extractive_answer(evidence: Evidence) -> tuple[str, list[Citation]]:
    """The answer text and the citations it uses; no citations when nothing matched."""
    primary = evidence.primary()
    if not primary:
        return f"{LABEL} nothing in the index matches this question.", []
    window_only = all(evidence.kinds[c.n] == "window" for c in primary)
    if window_only:
        top = sorted(primary, key=lambda c: (c.video_id, c.start_s))[:TOP_WINDOW]
        # Say which span: "right after shot 0:03-0:05" tells the reader the anchor was found,
        # and that the list is what follows it, not a match for the question's words.
        used = [r for r in evidence.readings if "not used" not in r]
        span = f" ({'; '.join(used)})" if used else ""
        intro = f"the events in that time span{span}, in order:"
    else:
        top = primary[:TOP_MATCHES]
        intro = "the best-matching moments are"
    cited: dict[int, Citation] = {c.n: c for c in top}
    lines = [f"{LABEL} {intro}"] + [f"- {_describe(c)}" for c in top]
    by_n = {c.n: c for c in evidence.items}
    chain = [link for link in evidence.links if link[0] in cited or link[1] in cited]
    if chain:
        lines.append("Causal chain:")
        for cause, effect, relation, why in chain:
            cited.setdefault(cause, by_n[cause])
            cited.setdefault(effect, by_n[effect])
            line = (
                f"- [{cause}] {by_n[cause].label} {relation or 'causes'} "
                f"[{effect}] {by_n[effect].label}"
            )
            lines.append(line + (f" ({why})" if why else ""))
    return "\n".join(lines), list(cited.values())
