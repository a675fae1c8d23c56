"""What a question returns: the answer text and the moments it cites.

The web page, the CLI and notebooks render these, so the names are a contract: ``Citation.n`` is
the number the answer text uses as ``[n]``, and only citations that were checked against the
evidence survive into ``Answer.citations``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from videoidx.types import Usage
from videoidx.vocab import AnswerMode

MODES = tuple(AnswerMode)
"""Every way a question can be answered (see :class:`AnswerMode`)."""


@dataclass(frozen=True, slots=True)
class Citation:
    """One numbered piece of evidence: a stored event, or a clip looked at again."""

    n: int
    """The evidence number, written ``[n]`` in the answer text."""
    video_id: str
    title: str
    start_s: float
    end_s: float
    event_id: str | None
    """None for a look-again citation of a clip without a stored event."""
    label: str = ""
    description: str = ""


@dataclass
class Answer:
    """An answer to one question, with its verified citations and what it cost."""

    question: str
    text: str
    """Cites as ``[1]``, ``[2]`` ... matching :attr:`Citation.n`; only valid numbers remain."""
    citations: list[Citation]
    """The citations actually used, verified, numbered 1, 2, 3 in order of first use."""
    mode: AnswerMode
    """``generated`` (a model answered), ``retrieved`` (offline extractive answer),
    ``looked_again`` (the model answered from a clip's frames) or ``unanswerable``."""
    usage: Usage
    dropped_citations: int = 0
    """Citation numbers the model wrote that were not in the evidence (removed from the text)."""
    evidence: list[Citation] = field(default_factory=list)
    """Everything shown to the model (or searched offline), numbered as the citations are: the
    cited ones first (so the numbers are not those of the prompt), the rest after them."""
    qa_id: str = ""
    """The row id in the store's ``qa_log``."""
    model: str = ""
    """The model that wrote the answer; empty offline."""
    filters: str = ""
    """How the question's time expressions were read, e.g. ``between 5:00 and 6:00``."""
