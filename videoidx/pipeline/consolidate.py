"""Consolidation: one pass over a video's clips after they are analysed.

Each clip is analysed alone, so the same woman is "c1" in clip 3 and "c2" in clip 7, and a cause
in clip 3 cannot be linked to its effect in clip 4. This pass fixes both:

* **Characters**: per-clip characters are grouped into one video-level character. With a text
  model available (the indexer declares ``can_complete_text``), the model groups them from names and
  descriptions; its answer is validated, and whatever it leaves out stays on its own. Without a
  model, or when its answer is unusable, a deterministic rule groups them: same normalised name,
  or strongly overlapping name and description words, but never two different proper names
  (``tests/test_consolidate.py`` lists what the rule guarantees).
* **Cross-clip causal links**: with a text model, one text-only pass over the event list proposes
  links whose cause and effect lie in different clips; links must point forward in time, from an
  earlier clip to a later one (so no cycle), name existing events, and are kept once. Without a
  model no cross-clip link is invented.

The names, descriptions and event texts go to the model as quoted data blocks
(:mod:`videoidx.prompting`): they were written by a model from what the video shows, so they may
carry instructions, which must be read as data. The model's answer is read with the core's one
tolerant reader (:func:`videoidx.replyjson.read_json`) and validated either way.

Everything this pass writes records its provenance (``rule:names-v2``, or
``model:<id>|consolidate-2`` with the prompt version), and the model's tokens and cost are added
to the run's usage.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from indexers import Indexer
from videoidx.errors import CancelledError, ProviderError
from videoidx.prompting import DATA_RULE, quote_data
from videoidx.replyjson import ReplyParseError, read_json
from videoidx.store import ClipCharacter, EventBrief, Store
from videoidx.types import Usage, VideoInfo

log = logging.getLogger(__name__)

RULE_PROVENANCE = "rule:names-v2"
"""v2: two different proper names are never merged; a merged character takes a proper name."""
PROMPT_VERSION = "consolidate-2"
"""The consolidation prompts' version, recorded in the provenance of what they produce; 2 quotes
the stored text as data."""
# Cap the prompt: a multi-hour video can have thousands of events; the model sees the most
# recent window that fits rather than a request that fails for length.
MAX_EVENTS_IN_PROMPT = 400
MAX_CHARACTERS_IN_PROMPT = 200

# Words that say nothing about who someone is. Not 'man'/'woman': they tell people apart.
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "with",
        "and",
        "or",
        "to",
        "at",
        "by",
        "for",
        "from",
        "is",
        "are",
        "was",
        "his",
        "her",
        "their",
        "its",
        "this",
        "that",
        "who",
        "which",
        "wearing",
        "wears",
    }
)


@dataclass(frozen=True)
class CharacterGroup:
    """Per-clip characters that are the same individual."""

    name: str
    description: str
    member_ids: tuple[str, ...]
    first_seen_s: float | None


@dataclass(frozen=True)
class ProposedLink:
    cause_id: str
    effect_id: str
    relation: str
    explanation: str
    confidence: float | None


class TextModel(Protocol):
    def complete_text(
        self,
        messages: list[dict[str, Any]],
        *,
        thinking: bool = False,
        cancel: threading.Event | None = None,
    ) -> tuple[str, Usage]: ...


@dataclass
class CancellableText:
    """A text model whose calls stop as soon as the run's ``cancel`` event is set."""

    model: TextModel
    cancel: threading.Event

    def complete_text(
        self,
        messages: list[dict[str, Any]],
        *,
        thinking: bool = False,
        cancel: threading.Event | None = None,
    ) -> tuple[str, Usage]:
        return self.model.complete_text(messages, thinking=thinking, cancel=cancel or self.cancel)


# -- characters ------------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[\w']+", text.lower()) if w not in _STOPWORDS and len(w) > 1}


def _normalised_name(name: str) -> str:
    return " ".join(w for w in re.findall(r"[\w']+", name.lower()) if w not in {"a", "an", "the"})


def _is_proper_name(name: str) -> bool:
    """ "Anna", "Dr Kim": a few capitalised words, not a descriptor such as "Man in red"."""
    words = re.findall(r"[\w']+", name)
    return (
        0 < len(words) <= 3
        and all(w[0].isupper() for w in words)
        and (words[0].lower() not in {"a", "an", "the"})
    )


def group_characters_by_rule(characters: Sequence[ClipCharacter]) -> list[CharacterGroup]:
    """Deterministic grouping: equal normalised names, or names+descriptions that overlap a lot.

    Two characters of the same clip are never merged: a clip that saw two people saw two people.
    """
    return [merge_members(g) for g in place_by_rule([], characters)]


def place_by_rule(
    groups: list[list[ClipCharacter]], characters: Sequence[ClipCharacter]
) -> list[list[ClipCharacter]]:
    """Add each of ``characters`` (earliest first) to the first of ``groups`` that has the same
    individual and no one from its clip, or to a new group; returns ``groups``, changed."""
    for ch in sorted(characters, key=lambda c: (c.first_seen_s or 0.0, c.clip_index, c.id)):
        target = None
        for group in groups:
            if any(m.clip_index == ch.clip_index for m in group):
                continue
            if any(_same_individual(ch, m) for m in group):
                target = group
                break
        if target is None:
            groups.append([ch])
        else:
            target.append(ch)
    return groups


def _same_individual(a: ClipCharacter, b: ClipCharacter) -> bool:
    name_a, name_b = _normalised_name(a.name), _normalised_name(b.name)
    if name_a and name_a == name_b:
        return True
    if _is_proper_name(a.name) and _is_proper_name(b.name):
        return False  # "Anna" and "Beth" are two people, however alike their descriptions
    words_a = _words(a.name + " " + a.description)
    words_b = _words(b.name + " " + b.description)
    if not words_a or not words_b:
        return False
    jaccard = len(words_a & words_b) / len(words_a | words_b)
    return jaccard >= 0.6


def merge_members(members: Sequence[ClipCharacter]) -> CharacterGroup:
    """One character of ``members``: a proper name if one has it, the longest description, the
    earliest first sighting."""
    first = members[0]
    named = next((m for m in members if _is_proper_name(m.name)), first)
    longest = max((m.description for m in members), key=len, default="")
    seen = [m.first_seen_s for m in members if m.first_seen_s is not None]
    return CharacterGroup(
        name=named.name,
        description=longest,
        member_ids=tuple(m.id for m in members),
        first_seen_s=min(seen) if seen else None,
    )


def group_characters_with_model(
    characters: Sequence[ClipCharacter], model: TextModel, usage: Usage
) -> list[CharacterGroup] | None:
    """Ask the text model to group characters; None when its answer cannot be used."""
    listing = [
        {"id": c.id, "clip": c.clip_index, "name": c.name, "description": c.description}
        for c in characters[:MAX_CHARACTERS_IN_PROMPT]
    ]
    prompt = (
        "These characters were seen in different clips of one video. Group the entries that are "
        "the same individual. Entries from the same clip are never the same individual. Answer "
        'with JSON only: {"groups": [{"name": "...", "description": "...", "ids": ["..."]}]}. '
        "Every id must appear in exactly one group.\n"
        "The characters, one per line:\n" + quote_data("characters", listing)
    )
    reply = _ask(model, prompt, usage)
    if not isinstance(reply, dict) or not isinstance(reply.get("groups"), list):
        return None  # not the answer asked for: the rule's grouping is better than none
    by_id = {c.id: c for c in characters}
    seen: set[str] = set()
    groups: list[CharacterGroup] = []
    for item in reply["groups"]:
        if not isinstance(item, dict) or not isinstance(item.get("ids"), list):
            continue
        ids = list(
            dict.fromkeys(
                i for i in item["ids"] if isinstance(i, str) and i in by_id and i not in seen
            )
        )
        clips = [by_id[i].clip_index for i in ids]
        if not ids or len(set(clips)) != len(clips):
            continue  # invalid group (unknown ids or two from one clip): leave members alone
        seen.update(ids)
        members = [by_id[i] for i in ids]
        base = merge_members(members)
        groups.append(
            CharacterGroup(
                name=str(item.get("name") or base.name),
                description=str(item.get("description") or base.description),
                member_ids=base.member_ids,
                first_seen_s=base.first_seen_s,
            )
        )
    # Characters the model forgot keep their own group rather than vanish.
    groups += [merge_members([c]) for c in characters if c.id not in seen]
    return groups


# -- cross-clip causal links -----------------------------------------------------------------


def propose_cross_clip_links(
    events: Sequence[EventBrief], model: TextModel, usage: Usage
) -> list[ProposedLink]:
    """Ask the text model for causal links between events of different clips, validated."""
    window = list(events)[-MAX_EVENTS_IN_PROMPT:]
    if len({e.clip_index for e in window}) < 2:
        return []
    listing = [
        {
            "id": e.id,
            "clip": e.clip_index,
            "start_s": round(e.start_s, 2),
            "end_s": round(e.end_s, 2),
            "label": e.label,
            "description": e.description,
        }
        for e in window
    ]
    prompt = (
        "Events of one video in time order. List causal links where an event in one clip "
        "causes or enables an event in a LATER clip. Only links the descriptions support; an "
        'empty list is fine. JSON only: {"links": [{"cause": "<id>", "effect": "<id>", '
        '"relation": "causes|enables|prevents|motivates", "explanation": "...", '
        '"confidence": 0.0}]}\n'
        "The events, one per line:\n" + quote_data("events", listing)
    )
    reply = _ask(model, prompt, usage)
    if not isinstance(reply, dict) or not isinstance(reply.get("links"), list):
        return []
    by_id = {e.id: e for e in events}
    links: list[ProposedLink] = []
    kept: set[tuple[str, str]] = set()
    for item in reply["links"]:
        if not isinstance(item, dict):
            continue
        cause_id, effect_id = item.get("cause"), item.get("effect")
        if not isinstance(cause_id, str) or not isinstance(effect_id, str):
            continue
        cause, effect = by_id.get(cause_id), by_id.get(effect_id)
        if cause is None or effect is None or (cause.id, effect.id) in kept:
            continue
        # From an earlier clip to a later one (links inside a clip are the clip's own), and an
        # effect never precedes its cause: so two links can never make a cycle, even between
        # events of overlapping clips that start together.
        if cause.clip_index >= effect.clip_index or cause.start_s > effect.start_s:
            continue
        kept.add((cause.id, effect.id))
        confidence = item.get("confidence")
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            confidence = None
        elif not 0.0 <= confidence <= 1.0:
            confidence = None  # outside 0..1 it says nothing we can compare
        links.append(
            ProposedLink(
                cause_id=cause.id,
                effect_id=effect.id,
                relation=str(item.get("relation") or "causes"),
                explanation=str(item.get("explanation") or ""),
                confidence=None if confidence is None else float(confidence),
            )
        )
    return links


def _ask(model: TextModel, prompt: str, usage: Usage) -> Any:
    try:
        text, used = model.complete_text(
            [{"role": "system", "content": DATA_RULE}, {"role": "user", "content": prompt}]
        )
    except CancelledError:
        return None  # the run is being cancelled: the rule's grouping is good enough
    except ProviderError as exc:
        log.warning("consolidation call failed, using the rule-based fallback: %s", exc)
        return None
    usage.add(used)
    try:
        return read_json(text)
    except ReplyParseError:
        log.warning("consolidation reply was not JSON; using the rule-based fallback")
        return None


# -- the pass --------------------------------------------------------------------------------


def text_model_of(indexer: Indexer) -> TextModel | None:
    """The indexer's text-only completion, when it declares one (``can_complete_text``)."""
    return indexer if indexer.can_complete_text else None


@dataclass
class ConsolidationInput:
    """What the pass reads from the store, read on the writer thread before any model call."""

    video_id: str
    characters: list[ClipCharacter]
    events: list[EventBrief]
    provenance: str


def read_consolidation_input(store: Store, info: VideoInfo, indexer: Indexer) -> ConsolidationInput:
    """The video's per-clip characters and (when a text model will link them) its events."""
    has_model = text_model_of(indexer) is not None
    return ConsolidationInput(
        video_id=info.video_id,
        characters=store.clip_characters(info.video_id),
        events=store.event_briefs(info.video_id) if has_model else [],
        provenance=f"model:{indexer.model_id}|{PROMPT_VERSION}",
    )


def ask_groups(
    data: ConsolidationInput, model: TextModel | None, usage: Usage
) -> list[CharacterGroup] | None:
    """The model's character groups, or None (no model, no characters, or an unusable answer)."""
    if model is None or not data.characters:
        return None
    return group_characters_with_model(data.characters, model, usage)


def ask_links(
    data: ConsolidationInput, model: TextModel | None, usage: Usage
) -> list[ProposedLink]:
    """The model's cross-clip causal links; none without a model."""
    return [] if model is None else propose_cross_clip_links(data.events, model, usage)


def write_consolidation(
    store: Store,
    data: ConsolidationInput,
    groups: list[CharacterGroup] | None,
    links: list[ProposedLink] | None,
) -> None:
    """Store the characters (the rule's grouping when the model gave none) and the links.

    ``links`` is None when no model was asked, so no cross-clip link is written at all.
    """
    if groups is None:
        groups = group_characters_by_rule(data.characters)
        store.write_characters(data.video_id, groups, provenance=RULE_PROVENANCE)
    else:
        store.write_characters(data.video_id, groups, provenance=data.provenance)
    if links is not None:
        store.write_links(data.video_id, links, provenance=data.provenance)
