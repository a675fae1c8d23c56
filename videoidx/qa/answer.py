"""The model's side of a question: the prompt, and checking the citations in its reply.

The evidence goes to the model as numbered lines (``[3] "Title" 5:02-5:09 car stops: ...``). The
model must cite those numbers; :func:`check_citations` keeps the numbers that exist, removes the
ones that do not (an invented citation is worse than none: it sends the user to the wrong
moment) and counts them. A reply that starts with :data:`NOT_ANSWERED` means the evidence does
not answer the question; an answer that cites nothing valid is treated the same way, because an
answer nobody can check is a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from videoidx.qa.records import Citation
from videoidx.qa.timeexpr import clock

NOT_ANSWERED = "NOT IN EVIDENCE"

SYSTEM = f"""You answer questions about videos. You cannot watch them; you get a numbered list of \
events that an indexer saw, each with its video and its time span (m:ss from the start of that \
video).

Rules:
- Answer only from the evidence. Do not add anything it does not say.
- Cite the evidence you use by its number in square brackets, like [2] or [2][5], right after the \
claim it supports. Cite only numbers from the list.
- Say when things happen, using the times in the evidence.
- If the evidence does not answer the question, reply with "{NOT_ANSWERED}:" followed by one \
sentence on what is missing. Do not guess.
- Be brief: a few sentences."""

_GROUP = r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]"
# A run of citation groups ("[2] [9]", "[7][1]", "[2, 9]") is rewritten as one.
_CITE = re.compile(rf"\s?{_GROUP}(?:\s*{_GROUP})*")


def evidence_line(c: Citation) -> str:
    text = f'[{c.n}] "{c.title}" {clock(c.start_s)}-{clock(c.end_s)} {c.label}'
    return text + (f": {c.description}" if c.description else "")


def evidence_block(items: Sequence[Citation], links: Sequence[tuple[int, int, str, str]]) -> str:
    lines = [evidence_line(c) for c in items]
    if links:
        lines.append("")
        lines.append("Causal links between them:")
        lines += [
            f"[{cause}] {relation or 'causes'} [{effect}]" + (f": {why}" if why else "")
            for cause, effect, relation, why in links
        ]
    return "\n".join(lines)


def build_messages(
    question: str,
    items: Sequence[Citation],
    links: Sequence[tuple[int, int, str, str]] = (),
    readings: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The chat messages for a text-only answer."""
    notes = f"\nTime filters applied: {'; '.join(readings)}." if readings else ""
    user = (
        f"Question: {question.strip()}{notes}\n\n"
        "Evidence (numbered events):\n"
        f"{evidence_block(items, links)}\n\n"
        "Answer the question from the evidence, citing numbers like [1]."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


@dataclass(frozen=True, slots=True)
class CheckedReply:
    """A reply after its citations were checked against the evidence."""

    text: str
    citations: list[Citation]
    dropped: int
    answered: bool
    """False when the model said the evidence does not answer, or cited nothing valid."""


def check_citations(reply: str, evidence: Sequence[Citation]) -> CheckedReply:
    """Keep citations that name evidence numbers, drop and count the rest."""
    by_n = {c.n: c for c in evidence}
    used: dict[int, Citation] = {}
    invented: set[int] = set()

    def fix(m: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", m.group(0))]
        valid = []
        for n in numbers:
            if n in by_n:
                valid.append(n)
                used.setdefault(n, by_n[n])
            else:
                invented.add(n)
        lead = " " if m.group(0).startswith((" ", "\t", "\n")) and valid else ""
        return lead + "".join(f"[{n}]" for n in dict.fromkeys(valid))

    text = reply.strip()
    declined = text.upper().lstrip("*_ ").startswith(NOT_ANSWERED)
    text = _CITE.sub(fix, text).strip()
    if declined:
        rest = text.lstrip("*_ ")[len(NOT_ANSWERED) :].lstrip(":*_ -").strip()
        text = "The indexed videos do not answer this" + (f": {rest}" if rest else ".")
        return CheckedReply(text, [], len(invented), answered=False)
    if not used:
        note = "the model's answer cited none of the evidence, so it is not shown"
        return CheckedReply(f"No answer found in the index: {note}.", [], len(invented), False)
    return CheckedReply(text, list(used.values()), len(invented), answered=True)
