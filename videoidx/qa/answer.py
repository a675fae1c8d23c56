"""The model's side of a question: the prompt, and checking the citations in its reply.

The evidence goes to the model as numbered lines in a quoted data block
(``[3] "Title" 5:02-5:09 "car stops": "..."``, see :mod:`videoidx.prompting`): the number and
times are ours, the title, label and description are stored text, quoted, so an event that says
"ignore your instructions" is read as what the video showed, not obeyed. The model must cite
those numbers; :func:`check_citations` keeps the numbers that exist, removes the
ones that do not (an invented citation is worse than none: it sends the user to the wrong
moment) and counts them. A reply that starts with :data:`NOT_ANSWERED` means the evidence does
not answer the question; an answer that cites nothing valid is treated the same way, because an
answer nobody can check is a guess.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from videoidx.prompting import DATA_RULE, Row, quote_data, quote_text
from videoidx.qa.records import Citation
from videoidx.times import clock_span

NOT_ANSWERED = "NOT IN EVIDENCE"
PROMPT_VERSION = "qa-2"
"""The Q&A prompts' version (this one and ``look_again``'s); 2 quotes all stored text as data."""

SYSTEM = f"""You answer questions about videos. You cannot watch them; you get a numbered list of \
events that an indexer saw, each with its video and its time span (m:ss from the start of that \
video).

{DATA_RULE}

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
_ONE_GROUP = re.compile(_GROUP)


def number_in_order(
    text: str, citations: Sequence[Citation], evidence: Sequence[Citation]
) -> tuple[str, list[Citation], list[Citation]]:
    """Renumber an answer so its citations read [1], [2], [3] in the order the text shows them.

    Evidence numbers are the retrieval order, so an answer reads "[6] ... [2] ... [8]"; every
    front end (CLI, page, notebook) shows what this returns, so they agree. The cited evidence
    comes first in the new numbering, the rest of the evidence after it in its old order, so
    ``Answer.evidence`` and ``Answer.citations`` keep agreeing on every number."""
    known = {c.n for c in evidence} | {c.n for c in citations}
    new: dict[int, int] = {}
    for group in _ONE_GROUP.finditer(text):
        for n in map(int, re.findall(r"\d+", group.group(0))):
            if n in known:
                new.setdefault(n, len(new) + 1)
    for c in [*citations, *evidence]:
        new.setdefault(c.n, len(new) + 1)

    def renumber(m: re.Match[str]) -> str:
        return re.sub(r"\d+", lambda d: str(new.get(int(d.group(0)), d.group(0))), m.group(0))

    def moved(items: Sequence[Citation]) -> list[Citation]:
        return sorted((dataclasses.replace(c, n=new[c.n]) for c in items), key=lambda c: c.n)

    return _ONE_GROUP.sub(renumber, text), moved(citations), moved(evidence)


def evidence_line(c: Citation) -> Row:
    """``[n] "title" m:ss-m:ss "label": "description"``: our number and times, stored text
    quoted."""
    span = clock_span(c.start_s, c.end_s)
    text = f"[{c.n}] {quote_text(c.title)} {span} {quote_text(c.label)}"
    return Row(text + (f": {quote_text(c.description)}" if c.description else ""))


def evidence_block(items: Sequence[Citation], links: Sequence[tuple[int, int, str, str]]) -> str:
    text = (
        'Evidence, one event per line: [number] "video title" start-end "label": "description".\n'
        + quote_data("evidence", [evidence_line(c) for c in items])
    )
    if links:
        rows = [
            {"cause": cause, "effect": effect, "relation": relation or "causes", "why": why}
            for cause, effect, relation, why in links
        ]
        text += "\n\nCausal links between them (by evidence number):\n"
        text += quote_data("causal links", rows)
    return text


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
