"""Turn a model's reply text into a :class:`~videoidx.types.ClipAnalysis`: pure functions only.

The reply is treated as untrusted text. The text -> JSON steps are the core's one tolerant reader
(:mod:`videoidx.replyjson`, re-exported here): :func:`split_thinking` removes
``<think>…</think>`` (GLM-4.5V may leave it in ``content``), :func:`extract_json_text` takes the
``<|begin_of_box|>…<|end_of_box|>`` span, drops fences and prose, and :func:`loads_lenient`
forgives trailing commas and keeps the complete items of a reply cut off by
``finish_reason: length``. This module adds the GLM-specific step:

* :func:`parse_analysis` maps key synonyms onto events, characters, appearances and causal
  links, converts times to absolute seconds (:func:`_absolute` is the only place where a
  clip-relative time becomes absolute), clamps times that stick out of the clip, drops items
  entirely outside it, and counts both; grounding boxes are read on GLM's 0-1000 scale.

Nothing here raises anything but :class:`ReplyParseError` (a ``ValueError``), so the caller
decides how an unreadable reply is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from videoidx.replyjson import (
    BOX_CLOSE,
    BOX_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    LenientResult,
    ReplyParseError,
    extract_json_text,
    loads_lenient,
    split_thinking,
)
from videoidx.types import Appearance, CausalLink, Character, ClipAnalysis, ClipSpec, Event

__all__ = [
    "BOX_CLOSE",
    "BOX_OPEN",
    "GLM_BOX_SCALE",
    "THINK_CLOSE",
    "THINK_OPEN",
    "LenientResult",
    "ReplyParseError",
    "box_to_px",
    "extract_json_text",
    "loads_lenient",
    "parse_analysis",
    "parse_box",
    "parse_time",
    "split_thinking",
]

GLM_BOX_SCALE = 1000.0
"""GLM grounding boxes are normalised by width/height and scaled to 0-1000."""


# -- values -> typed fields ----------------------------------------------------------------------

_TIME_RE = re.compile(r"^\s*(?:t\s*=\s*)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)\s*$")
_SECONDS_RE = re.compile(r"^\s*(?:t\s*=\s*)?(-?\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)?\s*$", re.I)


def parse_time(value: Any) -> float | None:
    """Seconds from a number, ``"12.5"``, ``"12.5s"``, ``"t=12.5s"``, ``"01:02"``, ``"1:02:03"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _SECONDS_RE.match(value)
    if match:
        return float(match.group(1))
    match = _TIME_RE.match(value)
    if match:
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return None


def _first(item: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in item and item[key] not in (None, ""):
            return item[key]
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value if v not in (None, ""))
    return str(value).strip()


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, Mapping):
                v = _first(v, "id", "name", "label")
            if v not in (None, ""):
                out.append(str(v).strip())
        return out
    return [str(value)]


def _confidence(value: Any) -> float | None:
    if isinstance(value, str):
        value = value.strip().rstrip("%")
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    conf = float(value)
    if 1.0 < conf <= 100.0:
        conf /= 100.0  # a percentage
    return min(max(conf, 0.0), 1.0)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_box(value: Any) -> tuple[float, float, float, float] | None:
    """Four numbers from ``[x1,y1,x2,y2]``, ``[[…]]``, ``"(x1,y1,x2,y2)"`` or ``"<…>"``."""
    if isinstance(value, Mapping):
        value = _first(value, "box", "bbox", "box_2d")
    if isinstance(value, list) and value and isinstance(value[0], list | str):
        value = value[0]
    numbers: list[float]
    if isinstance(value, str):
        numbers = [float(n) for n in _NUMBER.findall(value)]
    elif isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        numbers = [float(v) for v in value]
    else:
        return None
    if len(numbers) != 4:
        return None
    x1, y1, x2, y2 = numbers
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def box_to_px(
    box: tuple[float, float, float, float], frame_size_px: tuple[int, int]
) -> tuple[float, float, float, float]:
    """A 0-1000 GLM box in pixels of a ``(width, height)`` frame, clipped to the frame."""
    w, h = frame_size_px

    def scale(v: float, size: int) -> float:
        return round(min(max(v, 0.0), GLM_BOX_SCALE) / GLM_BOX_SCALE * size, 1)

    x1, y1, x2, y2 = box
    return (scale(x1, w), scale(y1, h), scale(x2, w), scale(y2, h))


# -- the analysis ------------------------------------------------------------------------------

_EVENT_LISTS = ("events", "timeline", "event_list", "items", "scenes")
_CHARACTER_LISTS = ("characters", "people", "persons", "entities", "actors")
_LINK_LISTS = ("causal_links", "links", "causal", "causality", "causes", "relations")
_START_KEYS = ("start_s", "start", "start_time", "start_sec", "begin", "from", "t_start", "time")
_END_KEYS = ("end_s", "end", "end_time", "end_sec", "stop", "to", "t_end")
_LABEL_KEYS = ("label", "event", "title", "name", "action", "type", "summary")
_DESC_KEYS = ("description", "evidence", "details", "detail", "desc", "caption", "what")


@dataclass
class _Counts:
    dropped: int = 0
    clamped: int = 0


@dataclass
class _Builder:
    clip: ClipSpec
    relative: bool
    frame_size_px: tuple[int, int] | None
    counts: _Counts = field(default_factory=_Counts)
    events: list[Event] = field(default_factory=list)
    characters: list[Character] = field(default_factory=list)
    appearances: list[Appearance] = field(default_factory=list)
    links: list[CausalLink] = field(default_factory=list)
    event_ids: dict[str, str] = field(default_factory=dict)
    """Model's event id (or 1-based position) -> our key."""
    character_ids: dict[str, str] = field(default_factory=dict)
    """Model's character id or name (lower case) -> our key."""

    def _absolute(self, t: float) -> float:
        """The one place where a clip-relative time becomes absolute."""
        return self.clip.start_s + t if self.relative else t

    def _clamp(self, t: float) -> float:
        return min(max(t, self.clip.start_s), self.clip.end_s)

    def add_character(self, item: Any) -> None:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping):
            self.counts.dropped += 1
            return
        name = _text(_first(item, "name", "descriptor", "label", "id", "who"))
        if not name:
            self.counts.dropped += 1
            return
        first = parse_time(
            _first(item, "first_seen_s", "first_seen", "first_appearance", "start_s")
        )
        if first is not None:
            first = self._absolute(first)
            if not self.clip.start_s <= first <= self.clip.end_s:
                first = self._clamp(first)
                self.counts.clamped += 1
        key = f"c{len(self.characters) + 1}"
        self.characters.append(
            Character(
                key=key,
                name=name,
                description=_text(_first(item, "appearance", "description", "desc", "details")),
                first_seen_s=first,
            )
        )
        for alias in (_first(item, "id", "key"), name):
            if alias is not None:
                self.character_ids.setdefault(str(alias).strip().lower(), key)
        box = parse_box(_first(item, "box", "bbox", "box_2d"))
        if box is not None and self.frame_size_px is not None:
            t = first if first is not None else self.clip.start_s
            self.appearances.append(Appearance(key, t, t, None, box_to_px(box, self.frame_size_px)))

    def _character_key(self, ref: str, first_seen_s: float) -> str:
        key = self.character_ids.get(ref.strip().lower())
        if key is None:  # named in an event but not listed: still a character
            key = f"c{len(self.characters) + 1}"
            self.characters.append(Character(key, ref.strip(), "", first_seen_s))
            self.character_ids[ref.strip().lower()] = key
        return key

    def add_event(self, item: Any, position: int) -> None:
        if not isinstance(item, Mapping):
            self.counts.dropped += 1
            return
        start = parse_time(_first(item, *_START_KEYS))
        end = parse_time(_first(item, *_END_KEYS))
        span = item.get("time") or item.get("timestamp")
        if start is None and isinstance(span, list) and len(span) == 2:
            start, end = parse_time(span[0]), parse_time(span[1])
        if start is None:
            self.counts.dropped += 1
            return
        start = self._absolute(start)
        end = start if end is None else self._absolute(end)
        if end < start:
            start, end = end, start
        if end < self.clip.start_s or start > self.clip.end_s:
            self.counts.dropped += 1  # entirely outside this clip: another clip's business
            return
        if start < self.clip.start_s or end > self.clip.end_s:
            start, end = self._clamp(start), self._clamp(end)
            self.counts.clamped += 1
        key = f"e{len(self.events) + 1}"
        model_id = _first(item, "id", "key", "event_id")
        self.event_ids.setdefault(str(position), key)
        if model_id is not None:
            self.event_ids[str(model_id).strip().lower()] = key
        label = _text(_first(item, *_LABEL_KEYS)) or "event"
        refs = _strings(_first(item, "characters", "character_ids", "people", "who", "actors"))
        boxes = _first(item, "boxes", "bboxes", "grounding")
        if isinstance(boxes, Mapping):  # a boxed character is in the event even if not listed
            refs += [str(r) for r in boxes]
        char_keys = tuple(dict.fromkeys(self._character_key(r, start) for r in refs))
        self.events.append(
            Event(
                key=key,
                start_s=start,
                end_s=end,
                label=label,
                description=_text(_first(item, *_DESC_KEYS)),
                characters=char_keys,
                objects=tuple(_strings(_first(item, "objects", "object", "items", "things"))),
                location=_text(_first(item, "location", "place", "setting", "where")),
                on_screen_text=_text(
                    _first(item, "on_screen_text", "onscreen_text", "screen_text", "ocr", "text")
                ),
                confidence=_confidence(_first(item, "confidence", "score", "conf")),
            )
        )
        for ck in char_keys:
            box = None
            if isinstance(boxes, Mapping):
                name = next(c.name for c in self.characters if c.key == ck)
                for ref, value in boxes.items():
                    if self.character_ids.get(str(ref).strip().lower()) == ck or ref == name:
                        box = parse_box(value)
            px = box_to_px(box, self.frame_size_px) if box and self.frame_size_px else None
            self.appearances.append(Appearance(ck, start, end, key, px))

    def add_link(self, item: Any) -> None:
        if not isinstance(item, Mapping):
            self.counts.dropped += 1
            return
        cause = self._event_key(_first(item, "cause", "cause_id", "from", "source", "cause_event"))
        effect = self._event_key(
            _first(item, "effect", "effect_id", "to", "target", "effect_event")
        )
        if cause is None or effect is None or cause == effect:
            self.counts.dropped += 1
            return
        self.links.append(
            CausalLink(
                cause_key=cause,
                effect_key=effect,
                relation=_text(_first(item, "relation", "type", "kind")) or "causes",
                explanation=_text(_first(item, "explanation", "reason", "why", "description")),
                confidence=_confidence(_first(item, "confidence", "score")),
            )
        )

    def _event_key(self, ref: Any) -> str | None:
        if ref is None or isinstance(ref, bool):
            return None
        if isinstance(ref, int | float):
            # A position: 1-based is what models write; fall back to 0-based when out of range.
            pos = int(ref)
            return self.event_ids.get(str(pos)) or self.event_ids.get(str(pos + 1))
        return self.event_ids.get(str(ref).strip().lower())


def _list_at(data: Mapping[str, Any], names: Sequence[str]) -> list[Any]:
    for name in names:
        value = data.get(name)
        if isinstance(value, list):
            return value
        if isinstance(value, Mapping):  # {"e1": {...}, "e2": {...}}
            return [dict(v, id=k) if isinstance(v, Mapping) else v for k, v in value.items()]
    return []


def parse_analysis(
    content: str,
    clip: ClipSpec,
    *,
    frame_size: tuple[int, int] | None = None,
    finish_reason: str = "",
    relative_times: bool = False,
) -> ClipAnalysis:
    """Read a reply into a ClipAnalysis with absolute times inside ``clip``.

    ``frame_size`` is the ORIGINAL video's (width, height) in pixels, for grounding boxes.
    ``relative_times`` says the model was asked for seconds from the clip start (video mode).
    A reply cut off by ``finish_reason == "length"`` keeps its complete items and never raises
    for lack of JSON; any other unreadable reply raises :class:`ReplyParseError`. A reply that
    could only be partly read (cut off at the token limit, or JSON that ends mid-item) says why
    in ``incomplete``, so the caller does not mistake its few events for the whole clip.
    ``raw_reply`` is the content as given; ``reasoning`` holds any ``<think>`` text.
    """
    reasoning, _ = split_thinking(content or "")
    truncated = finish_reason == "length"
    try:
        result = loads_lenient(extract_json_text(content or ""))
    except ReplyParseError:
        if truncated:
            return ClipAnalysis(
                raw_reply=content,
                reasoning=reasoning,
                finish_reason=finish_reason,
                incomplete=f"{CUT_OFF_AT_LIMIT} before any complete item could be read",
            )
        raise
    data = result.value
    if isinstance(data, list):
        data = {"events": data}
    if not isinstance(data, Mapping):
        raise ReplyParseError(f"the reply's JSON is a {type(data).__name__}, not an object")
    builder = _Builder(clip, relative_times, frame_size)
    for item in _list_at(data, _CHARACTER_LISTS):
        builder.add_character(item)
    for position, item in enumerate(_list_at(data, _EVENT_LISTS), start=1):
        builder.add_event(item, position)
    for item in _list_at(data, _LINK_LISTS):
        builder.add_link(item)
    known = (*_EVENT_LISTS, *_CHARACTER_LISTS, *_LINK_LISTS, "summary")
    has_known = any(k in data for k in known)
    if not truncated and not has_known:
        raise ReplyParseError("the reply's JSON has no events, characters or summary")
    return ClipAnalysis(
        events=builder.events,
        characters=builder.characters,
        appearances=builder.appearances,
        links=builder.links,
        summary=_text(_first(data, "summary", "clip_summary", "overall", "description")),
        raw_reply=content,
        reasoning=reasoning,
        finish_reason=finish_reason,
        dropped_items=builder.counts.dropped,
        clamped_items=builder.counts.clamped,
        incomplete=_incomplete(result.repaired, truncated, has_known, len(builder.events)),
    )


CUT_OFF_AT_LIMIT = "the reply was cut off at the token limit (finish_reason: length)"


def _incomplete(repaired: bool, truncated: bool, has_known: bool, events: int) -> str:
    """Why a parsed reply holds only part of the answer, or "" when it holds all of it.

    JSON that closed properly is the whole answer even when the token limit was reached right
    after it; JSON that had to be cut back to its complete items is not, whatever the finish
    reason says (a proxy may drop ``finish_reason``).
    """
    kept = f"only {events} complete event{'s' if events != 1 else ''} could be read"
    if repaired and truncated:
        return f"{CUT_OFF_AT_LIMIT} in the middle of its JSON; {kept}"
    if repaired:
        return f"the reply's JSON ends in the middle of an item (cut off); {kept}"
    if truncated and not has_known:
        return f"{CUT_OFF_AT_LIMIT} before its events"
    return ""
