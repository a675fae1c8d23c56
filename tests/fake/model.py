"""What the fake provider answers: a perfect annotator of synthetic videos, from what it is sent.

Nothing here is canned; every answer is computed from the request:

* **Clips**: it decodes every JPEG frame with Pillow, reads the ``[t=…s]`` text before it, finds
  each frame's dominant colour (nearest of ``COLOURS_RGB``) and answers one event per run of a
  colour (start = first frame of the run, end = first frame of the next run), a character when
  the moving test pattern is visible, a causal link between consecutive events. In video mode
  (vLLM/SGLang ``video_url``) it decodes the clip at 1 fps and answers in integer seconds from
  the clip start, as GLM-4.5V's processor shows them.
  Like a real model it words things by what it sees: the test pattern is described differently
  depending on its tint (:data:`PATTERN_LOOKS`: "moving test pattern" on green, "bouncing disc"
  on magenta, …; every wording ends with the same word, "circle"), and some colours carry a
  story (:data:`STORY`: magenta "sparks fly", cyan "smoke rises").
* **Consolidation** (text-only requests with a ``characters`` or ``events`` data block, see
  ``videoidx.pipeline.consolidate``): it reads the quoted data lines and groups characters whose
  descriptions end with the same word (never two of one clip), and links an event that carries a
  cause word to the first event of a LATER clip carrying its effect word (:data:`CAUSE_EFFECT`).
* **Questions** (a ``Question:`` line, see ``videoidx.qa``): with numbered evidence lines, it
  cites the lines that share a word with the question (all of them when the question has no
  content words, "NOT IN EVIDENCE" when none match); for a "why" question it also cites the
  cause of each cited line, read from the ``causal links`` data block. With frames (look again),
  it says which colours it saw when and cites the clip's number.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from tests.fake.dialects import Reject, user_items
from videoidx.media.synth import COLOURS_RGB

_PALETTE_NAMES = list(COLOURS_RGB)
_PALETTE = np.array([COLOURS_RGB[n] for n in _PALETTE_NAMES], dtype=np.int32)
_TS = re.compile(r"^\s*\[t=(-?\d+(?:\.\d+)?)s\]\s*$")

PATTERN_LOOKS: dict[str, tuple[str, str]] = {
    "magenta": ("bouncing disc", "a disc hopping over magenta stripes, the same round circle"),
    "cyan": ("round shape", "cyan-tinted stripes behind a sliding circle"),
}
"""Tint -> (name, description) of the test pattern; every other tint gets
:data:`DEFAULT_LOOK`. Different enough that the name rule does not merge them; the last word
("circle") is what the fake's consolidation groups by."""
DEFAULT_LOOK = ("moving test pattern", "colour bars and a moving circle")
STORY: dict[str, str] = {"magenta": "sparks fly", "cyan": "smoke rises"}
"""What a screen of this colour shows, added to its event's description."""
CAUSE_EFFECT: dict[str, str] = {"sparks": "smoke"}
"""Cause word -> effect word: the fake links an event with the first to a later one with the
second."""


# -- perception --------------------------------------------------------------------------------


@dataclass
class Seen:
    """One frame as the fake 'model' perceived it."""

    time_s: float
    colour: str
    pattern: bool
    box: tuple[int, int, int, int]
    """Where the non-dominant pixels are, 0-1000 scale (the test pattern's extent)."""


def perceive(img: Image.Image, time_s: float) -> Seen:
    """Dominant palette colour of a frame, whether the test pattern shows, and its box."""
    rgb = np.asarray(img.convert("RGB").resize((64, 48)), dtype=np.int32)
    px = rgb.reshape(-1, 3)
    nearest = ((px[:, None, :] - _PALETTE[None]) ** 2).sum(-1).argmin(1)
    counts = np.bincount(nearest, minlength=len(_PALETTE))
    dominant = int(counts.argmax())
    other = (nearest != dominant).reshape(rgb.shape[:2])
    pattern = bool(other.mean() > 0.05)
    if pattern:
        ys, xs = np.nonzero(other)
        box = (
            int(xs.min() * 1000 / 64),
            int(ys.min() * 1000 / 48),
            int((xs.max() + 1) * 1000 / 64),
            int((ys.max() + 1) * 1000 / 48),
        )
    else:
        box = (0, 0, 1000, 1000)
    return Seen(time_s, _PALETTE_NAMES[dominant], pattern, box)


def decode_video(url: str) -> tuple[list[Seen], int]:
    """A ``data:video/mp4;base64`` clip at 1 fps, timed in integer seconds from its start."""
    import decord

    if not url.startswith("data:video/"):
        raise Reject(400, None, "fake: only data:video/...;base64 URLs are supported")
    data = base64.b64decode(url.split(",", 1)[1])
    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
        tmp.write(data)
        tmp.flush()
        vr = decord.VideoReader(tmp.name)
        fps = vr.get_avg_fps()
        duration = len(vr) / fps
        seconds = list(range(int(duration) + (0 if duration == int(duration) else 1)))
        indices = [min(int(s * fps), len(vr) - 1) for s in seconds]
        batch = vr.get_batch(indices).asnumpy()
    seen, tokens = [], 0
    for s, frame in zip(seconds, batch, strict=True):
        img = Image.fromarray(frame)
        seen.append(perceive(img, float(s)))
        tokens += math.ceil(img.width / 28) * math.ceil(img.height / 28)
    return seen, tokens


@dataclass
class Perceived:
    """What a request showed: the frames seen, their image tokens, and its text length."""

    seen: list[Seen] = field(default_factory=list)
    image_tokens: int = 0
    text_chars: int = 0


def perceive_request(body: dict[str, Any]) -> Perceived:
    """Frames (or video) -> what was seen, plus image tokens and text characters."""
    out = Perceived()
    last_ts: float | None = None
    for item in user_items(body):
        kind = item.get("type")
        if kind == "text":
            out.text_chars += len(item.get("text", ""))
            match = _TS.match(item.get("text", ""))
            last_ts = float(match.group(1)) if match else None
        elif kind == "image_url":
            if last_ts is None:
                raise Reject(400, None, "fake: an image without its [t=...s] text before it")
            url = item["image_url"]["url"]
            data = base64.b64decode(url.split(",", 1)[1] if url.startswith("data:") else url)
            with Image.open(io.BytesIO(data)) as img:
                if img.format != "JPEG":
                    raise Reject(400, None, "fake: frames must be JPEG")
                out.seen.append(perceive(img, last_ts))
                w, h = img.size
            out.image_tokens += math.ceil(w / 28) * math.ceil(h / 28) + 2
            last_ts = None
        elif kind == "video_url":
            frames, tokens = decode_video(item["video_url"]["url"])
            out.seen += frames
            out.image_tokens += tokens
    for msg in body.get("messages", []):
        if isinstance(msg.get("content"), str):
            out.text_chars += len(msg["content"])
    return out


# -- clips -------------------------------------------------------------------------------------


def analysis_from(seen: Sequence[Seen], *, mmss: bool = False, grounding: bool = False) -> dict:
    """The answer a perfect annotator would give for these frames."""
    runs: list[list[Seen]] = []
    for s in sorted(seen, key=lambda s: s.time_s):
        if runs and runs[-1][0].colour == s.colour:
            runs[-1].append(s)
        else:
            runs.append([s])
    pattern_frames = [s for s in seen if s.pattern]

    def t(v: float) -> Any:
        return f"{int(v // 60):02d}:{v % 60:04.1f}" if mmss else round(v, 3)

    events = []
    for i, run in enumerate(runs):
        end = runs[i + 1][0].time_s if i + 1 < len(runs) else run[-1].time_s
        colour = run[0].colour
        story = f"; {STORY[colour]}" if colour in STORY else ""
        event: dict[str, Any] = {
            "id": f"e{i + 1}",
            "start_s": t(run[0].time_s),
            "end_s": t(end),
            "label": f"{colour} screen",
            "description": f"the screen is {colour} in {len(run)} frame(s){story}",
            "characters": ["c1"] if any(s.pattern for s in run) else [],
            "objects": ["test pattern"] if any(s.pattern for s in run) else [],
            "location": "synthetic studio",
            "on_screen_text": "",
            "confidence": 0.9,
        }
        if grounding and event["characters"]:
            event["boxes"] = {"c1": list(next(s.box for s in run if s.pattern))}
        events.append(event)
    characters = []
    if pattern_frames:
        name, look = PATTERN_LOOKS.get(pattern_frames[0].colour, DEFAULT_LOOK)
        characters.append(
            {
                "id": "c1",
                "name": name,
                "appearance": look,
                "first_seen_s": t(pattern_frames[0].time_s),
            }
        )
    links = [
        {
            "cause": f"e{i}",
            "effect": f"e{i + 1}",
            "relation": "precedes",
            "explanation": f"{runs[i - 1][0].colour} is cut to {runs[i][0].colour}",
        }
        for i in range(1, len(runs))
    ]
    return {
        "events": events,
        "characters": characters,
        "causal_links": links,
        "summary": "Colours in order: " + ", ".join(r[0].colour for r in runs) + ".",
    }


# -- reading the quoted data of a text request -------------------------------------------------


def user_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for msg in body.get("messages", []):
        if msg.get("role") != "user":
            continue
        if isinstance(msg.get("content"), str):
            parts.append(msg["content"])
        else:
            parts += [i.get("text", "") for i in msg.get("content") or [] if isinstance(i, dict)]
    return "\n".join(parts)


def data_lines(text: str, label: str) -> list[str]:
    """The lines of the ``<data label="...">`` block (``videoidx.prompting.quote_data``), as
    written (JSON escapes kept); [] when there is no such block."""
    match = re.search(rf'<data label="{re.escape(label)}">\n(.*?)</data>', text, re.DOTALL)
    return [line for line in match.group(1).split("\n") if line] if match else []


def data_items(text: str, label: str) -> list[Any]:
    """The block's lines decoded as JSON, the way a model reads them (lines that are not JSON
    are skipped)."""
    items = []
    for line in data_lines(text, label):
        try:
            items.append(json.loads(line))
        except ValueError:
            continue
    return items


# -- questions ---------------------------------------------------------------------------------

_QUESTION = re.compile(r"^Question:\s*(.+)$", re.MULTILINE)
_EVIDENCE = re.compile(r"^\[(\d+)\]\s+(.+)$")
_QA_STOPWORDS = frozenset(
    {
        "the", "what", "when", "why", "how", "did", "does", "happen", "happened", "happens",
        "between", "after", "before", "and", "first", "appear", "appears", "who", "where",
        "which", "was", "were", "are", "there", "this", "that", "with", "from", "video",
    }
)  # fmt: skip
_QUOTED = r'"(?:[^"\\]|\\.)*"'
# [n] "title" m:ss-m:ss "label": "description" (see videoidx.qa.answer.evidence_line)
_EVIDENCE_FIELDS = re.compile(rf"^({_QUOTED}) (\S+) ({_QUOTED})(?:: ({_QUOTED}))?$")


def question(body: dict[str, Any]) -> str | None:
    match = _QUESTION.search(user_text(body))
    return match.group(1).strip() if match else None


def evidence(body: dict[str, Any]) -> dict[int, str]:
    """Evidence number -> ``m:ss-m:ss label: description``, read from the evidence data block
    the way a model reads it (the quoted fields decoded; the first line per number)."""
    lines: dict[int, str] = {}
    for line in data_lines(user_text(body), "evidence"):
        match = _EVIDENCE.match(line)
        if not match:
            continue
        fields = _EVIDENCE_FIELDS.match(match.group(2))
        text = match.group(2)
        if fields:
            _title, times, label, description = fields.groups()
            text = f"{times} {json.loads(label)}" + (
                f": {json.loads(description)}" if description else ""
            )
        lines.setdefault(int(match.group(1)), text)
    return lines


def evidence_links(body: dict[str, Any]) -> list[tuple[int, int]]:
    """(cause number, effect number) from the ``causal links`` data block."""
    out = []
    for row in data_items(user_text(body), "causal links"):
        if isinstance(row, dict) and all(isinstance(row.get(k), int) for k in ("cause", "effect")):
            out.append((row["cause"], row["effect"]))
    return out


def _content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return {w for w in words if len(w) >= 3 and w not in _QA_STOPWORDS}


def qa_answer(
    question: str,
    evidence: dict[int, str],
    *,
    links: Sequence[tuple[int, int]] = (),
    invent: bool = False,
) -> str:
    """Cite the evidence lines sharing a word with the question; decline when none do. A "why"
    question also cites the cause (``links``) of each line it cites."""
    asked = _content_words(question)
    if asked:
        cited = [n for n, line in evidence.items() if asked & _content_words(line)]
    else:
        cited = list(evidence)
    if not cited:
        return f"NOT IN EVIDENCE: nothing shown mentions {', '.join(sorted(asked))}."
    text = "From the evidence: " + "; ".join(f"{evidence[n]} [{n}]" for n in cited) + "."
    if question.lower().startswith("why"):
        causes = [(c, e) for c, e in links if e in cited and c in evidence and c not in cited]
        for cause, effect in causes:
            text += f" [{effect}] happened because of {evidence[cause]} [{cause}]."
    if invent:
        text += f" It is also shown in [{max(evidence) + 7}]."
    return text


def look_answer(seen: Sequence[Seen], n: int) -> str:
    """What the frames show: each colour and when it starts, citing the clip as ``[n]``."""
    runs: list[Seen] = []
    for s in sorted(seen, key=lambda s: s.time_s):
        if not runs or runs[-1].colour != s.colour:
            runs.append(s)
    told = ", then ".join(f"{s.colour} from {s.time_s:.1f} s" for s in runs)
    return f"In these frames the screen is {told} [{n}]."


# -- consolidation -----------------------------------------------------------------------------


def _marker(description: str) -> str:
    words = re.findall(r"[a-z]+", description.lower())
    return words[-1] if words else ""


def group_answer(characters: Sequence[Any]) -> list[dict[str, Any]]:
    """Groups of the listed characters: same last description word, at most one per clip."""
    groups: list[dict[str, Any]] = []
    for c in characters:
        if not isinstance(c, dict) or "id" not in c:
            continue
        marker = _marker(str(c.get("description") or ""))
        target = next(
            (
                g
                for g in groups
                if marker and g["marker"] == marker and c.get("clip") not in g["clips"]
            ),
            None,
        )
        if target is None:
            target = {"marker": marker, "clips": set(), "members": []}
            groups.append(target)
        target["clips"].add(c.get("clip"))
        target["members"].append(c)
    out = []
    for g in groups:
        members = g["members"]
        out.append(
            {
                "name": str(members[0].get("name") or ""),
                "description": max((str(m.get("description") or "") for m in members), key=len),
                "ids": [m["id"] for m in members],
            }
        )
    return out


def link_answer(events: Sequence[Any]) -> list[dict[str, Any]]:
    """Cause -> effect links between events of different clips, from :data:`CAUSE_EFFECT`."""
    listed = [e for e in events if isinstance(e, dict) and "id" in e]
    links = []
    for cause in listed:
        words = set(re.findall(r"[a-z]+", str(cause.get("description", "")).lower()))
        for cause_word, effect_word in CAUSE_EFFECT.items():
            if cause_word not in words:
                continue
            effect = next(
                (
                    e
                    for e in listed
                    if e.get("clip", 0) > cause.get("clip", 0)
                    and effect_word in str(e.get("description", "")).lower()
                ),
                None,
            )
            if effect is not None:
                links.append(
                    {
                        "cause": cause["id"],
                        "effect": effect["id"],
                        "relation": "causes",
                        "explanation": f"the {cause_word} set off the {effect_word}",
                        "confidence": 0.8,
                    }
                )
    return links


def consolidation_answer(text: str) -> dict[str, Any]:
    """The answer to a consolidation request: groups and/or links from its data blocks."""
    return {
        "answer": "fake answer",
        "groups": group_answer(data_items(text, "characters")),
        "links": link_answer(data_items(text, "events")),
    }


# -- one request -------------------------------------------------------------------------------


@dataclass
class Content:
    """The answer's text before any fault or dialect shaping; ``data`` is its JSON, if any."""

    text: str
    data: Any
    perceived: Perceived


def answer_content(body: dict[str, Any], flags: set[str]) -> Content:
    """What the model says to ``body`` (``flags``: the faults that change what it says)."""
    perceived = perceive_request(body)
    seen = perceived.seen
    asked = question(body)
    data: Any = None
    if asked is not None and seen:  # look again: a question about these frames
        cited = re.search(r"cited as \[(\d+)\]", user_text(body))
        text = look_answer(seen, int(cited.group(1)) if cited else 1)
    elif asked is not None:  # Q&A over numbered evidence
        text = qa_answer(
            asked,
            evidence(body),
            links=evidence_links(body),
            invent="invent_citation" in flags,
        )
        if "decline" in flags:
            text = "NOT IN EVIDENCE: the evidence does not say."
    elif seen:
        grounding = "bounding box" in json.dumps(body.get("messages", []))
        data = analysis_from(seen, mmss="mmss" in flags, grounding=grounding)
        text = json.dumps(data)
    else:  # a text-only request (consolidation)
        data = consolidation_answer(user_text(body))
        text = json.dumps(data)
    return Content(text, data, perceived)
