"""The instructions sent with every clip, versioned so a prompt change invalidates cached clips.

Time convention (the one the parser relies on):

* **Frames mode** (the default): each frame is preceded by ``[t=12.5s]``, its ABSOLUTE time in
  the video, and the model is asked to answer in those same absolute seconds. Absolute times
  need no arithmetic from the model, and a clip that starts at 300 s cannot be confused with one
  that starts at 0.
* **Video mode** (``send_video``): the server samples the clip file itself and shows the model
  integer seconds counted from the clip's start, so the model is asked for clip-relative
  seconds, and :func:`indexers.glm.parse.parse_analysis` adds the clip start (its only
  conversion point).

A prompt file given by the ``prompt_path`` setting replaces the built-in text; its version is
a hash of its text. It may use the same ``$placeholders`` (``string.Template`` syntax, so JSON
braces need no escaping): ``$time_rule``, ``$clip_start_s``, ``$clip_end_s``,
``$grounding_rule``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from string import Template

from videoidx.errors import ConfigError

PROMPT_VERSION = "glm-index-2"
"""2: the clip's transcript and on-screen text follow the frames as quoted data."""

SYSTEM_PROMPT = "You are a precise video annotator. You answer with JSON only."

INDEX_PROMPT = """\
Analyse this clip of a video ($clip_start_s s to $clip_end_s s) and describe what happens.
$time_rule

Return ONLY one JSON object, no prose, with this shape:
{
  "events": [
    {"id": "e1", "start_s": <number>, "end_s": <number>, "label": "<short label>",
     "description": "<what is visible or audible>", "characters": ["c1"],
     "objects": ["<object>"], "location": "<place>", "on_screen_text": "<text shown>",
     "confidence": <0..1>$box_field}
  ],
  "characters": [
    {"id": "c1", "name": "<name, or a stable descriptor like 'man in red coat'>",
     "appearance": "<clothes, build, distinguishing marks>", "first_seen_s": <number>}
  ],
  "causal_links": [
    {"cause": "e1", "effect": "e2", "relation": "causes|enables|prevents|motivates",
     "explanation": "<why>"}
  ],
  "summary": "<two or three sentences about the whole clip>"
}
Rules: one event per distinct action or scene; start_s and end_s must lie within
$clip_start_s..$clip_end_s; list characters that appear (people, animals, other agents) and
refer to them by id; only add causal links you can justify from what is shown; use empty lists
when there is nothing to report. Do not invent events.$grounding_rule
"""

FRAMES_TIME_RULE = (
    "You see frames in time order; the text [t=12.5s] before each frame is that frame's time in "
    "seconds from the start of the whole video. Give start_s and end_s in those same seconds."
)
VIDEO_TIME_RULE = (
    "The video is this clip only; give start_s and end_s in seconds from the start of the clip "
    "(the first frame is 0)."
)
GROUNDING_RULE = (
    '\nFor each event, give in "boxes" the bounding box of every character it involves, as '
    "[x1,y1,x2,y2] with coordinates scaled 0-1000 by the frame width and height."
)
BOX_FIELD = ', "boxes": {"c1": [x1, y1, x2, y2]}'


@dataclass(frozen=True)
class Prompt:
    """Prompt text (a template) and the version recorded with every run."""

    template: str
    version: str
    system: str = SYSTEM_PROMPT

    def render(
        self, *, clip_start_s: float, clip_end_s: float, video_mode: bool, grounding: bool
    ) -> str:
        """The instruction text for one clip."""
        start, end = (0.0, clip_end_s - clip_start_s) if video_mode else (clip_start_s, clip_end_s)
        return Template(self.template).safe_substitute(
            clip_start_s=f"{start:.1f}",
            clip_end_s=f"{end:.1f}",
            time_rule=VIDEO_TIME_RULE if video_mode else FRAMES_TIME_RULE,
            grounding_rule=GROUNDING_RULE if grounding else "",
            box_field=BOX_FIELD if grounding else "",
        )


def load_prompt(prompt_path: str | None = None) -> Prompt:
    """The built-in prompt, or the text of ``prompt_path`` versioned by its hash."""
    if not prompt_path:
        return Prompt(INDEX_PROMPT, PROMPT_VERSION)
    try:
        text = Path(prompt_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"prompt file {prompt_path} cannot be read: {exc}") from exc
    if not text.strip():
        raise ConfigError(f"prompt file {prompt_path} is empty")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return Prompt(text, f"custom-{digest}")
