"""A third, minimal indexer, written the way a plugin would write one: only ``indexers.base``.

``EchoIndexer`` reports the frames it was given: one event per frame, from the frame's time to
the next one's (the last to the clip's end), so its times are absolute and inside the clip by
construction. It recognises nobody and links nothing, and says so (the base class defaults).
``TalkingEchoIndexer`` adds the text capability: its ``complete_text`` answers a question by
repeating it and citing the first piece of evidence, and answers the consolidation pass with
an empty grouping. Neither calls anything or costs anything.

The tests reach them three ways: ``register()`` in the test process, and the
``videoidx.indexers`` entry-point group in a child process (see :func:`plugin_dist`).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from indexers.base import Indexer
from videoidx.types import ClipAnalysis, ClipInput, Event, Usage

ENTRY_POINTS = {
    "echo": "tests.echo_indexer:EchoIndexer",
    "echo-text": "tests.echo_indexer:TalkingEchoIndexer",
}


class EchoIndexer(Indexer):
    """One event per frame it was given."""

    name = "echo"
    display_name = "Echo"

    @property
    def model_id(self) -> str:
        return "echo-1"

    def analyze(self, clip: ClipInput, *, cancel: threading.Event | None = None) -> ClipAnalysis:
        spec = clip.clip
        times = sorted(f.time_s for f in clip.frames if spec.start_s <= f.time_s <= spec.end_s)
        ends = [*times[1:], spec.end_s]
        events = [
            Event(
                key=f"e{i + 1}",
                start_s=start,
                end_s=max(start, end),
                label="echo frame",
                description=f"frame {i + 1} of clip {spec.index} at {start:.2f} s",
            )
            for i, (start, end) in enumerate(zip(times, ends, strict=True))
        ]
        return ClipAnalysis(
            events=events, summary=f"{len(events)} frames echoed", model=self.model_id
        )


class TalkingEchoIndexer(EchoIndexer):
    """The echo indexer with a text model: it repeats the question and cites evidence [1]."""

    name = "echo-text"
    display_name = "Talking echo"
    can_complete_text = True

    def complete_text(
        self,
        messages: list[dict[str, Any]],
        *,
        thinking: bool = False,
        cancel: threading.Event | None = None,
    ) -> tuple[str, Usage]:
        text = str(messages[-1]["content"])
        question = re.search(r"^Question: (.+)$", text, re.MULTILINE)
        if question is None:  # the consolidation pass asks for JSON
            reply = '{"groups": [], "links": []}'
        else:
            reply = f"<think>echo</think>Echo heard: {question.group(1).strip()} [1]"
        return reply, Usage(prompt_tokens=len(text.split()), completion_tokens=5, requests=1)


class UndeclaredTalkerIndexer(EchoIndexer):
    """Has a ``complete_text`` method but does not declare ``can_complete_text``: the core goes
    by the declaration, not by which methods happen to exist."""

    name = "echo-undeclared"
    complete_text = TalkingEchoIndexer.complete_text


def plugin_dist(folder: Path) -> Path:
    """An installed distribution's metadata declaring both indexers in the ``videoidx.indexers``
    entry-point group; put ``folder`` on ``PYTHONPATH`` and a child process finds them."""
    dist = folder / "videoidx_echo-0.1.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: videoidx-echo\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in ENTRY_POINTS.items())
    (dist / "entry_points.txt").write_text(f"[videoidx.indexers]\n{lines}")
    return folder
