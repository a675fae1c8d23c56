"""What the store hands back: small frozen dataclasses, one per kind of row.

Ids are stable text: ``clip_id`` is derived from (video_id, cache key), an event id is
``<clip_id>-<event key>``, so re-writing a clip reproduces the same ids and an exported timeline
re-imports to the same rows. Times are absolute seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from videoidx.types import Usage
from videoidx.vocab import ClipStatus, RunStatus


@dataclass(frozen=True, slots=True)
class VideoSummary:
    """One row of :meth:`Store.list_videos`."""

    video_id: str
    title: str
    path: str
    duration_s: float
    clips: int
    clips_failed: int
    events: int
    last_run_status: RunStatus | None


@dataclass(frozen=True, slots=True)
class IndexSize:
    """One row of :meth:`Store.index_size`: the timeline's and its search index's size."""

    events: int
    search_docs: int
    """Events the BM25 index counts (equal to ``events`` when the index is consistent)."""
    postings: int


@dataclass(frozen=True, slots=True)
class StoredClip:
    """A clip row; ``event_count`` lets a cached clip be reported without reading its events."""

    clip_id: str
    video_id: str
    run_id: str | None
    clip_index: int
    start_s: float
    end_s: float
    status: ClipStatus
    error: str | None
    cache_key: str
    summary: str
    raw_reply: str
    event_count: int


@dataclass(frozen=True, slots=True)
class StoredReply:
    """A clip's stored model reply and what came with it, for reading it again (reparse)."""

    clip: StoredClip
    finish_reason: str
    reasoning: str
    model: str
    usage: Usage
    run_indexer: str | None
    """The indexer of the run that wrote the clip (None for imported clips)."""
    run_settings: dict[str, Any]
    """That run's settings by flat name, as recorded when it started."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event row; ``characters`` holds display names, not keys."""

    id: str
    video_id: str
    clip_index: int
    start_s: float
    end_s: float
    label: str
    description: str
    characters: tuple[str, ...]
    objects: tuple[str, ...]
    location: str
    on_screen_text: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class StoredSaid:
    """A spoken segment (``kind`` ``speech``) or a span of on-screen text (``screen_text``), as
    the page's transcript and lanes show it: outside-world text, escaped wherever it is shown."""

    id: str
    video_id: str
    kind: str
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True, slots=True)
class ClipCharacter:
    """A character as one clip saw it (input to consolidation)."""

    id: str
    clip_index: int
    name: str
    description: str
    first_seen_s: float | None


@dataclass(frozen=True, slots=True)
class StoredCharacter:
    """A video-level character after consolidation, with the clip characters it merges."""

    id: str
    video_id: str
    name: str
    description: str
    first_seen_s: float | None
    provenance: str
    member_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredAppearance:
    video_id: str
    clip_character_id: str
    character_id: str | None
    name: str
    event_id: str | None
    start_s: float
    end_s: float
    box_px: tuple[float, float, float, float] | None


@dataclass(frozen=True, slots=True)
class StoredLink:
    """A causal link between two stored events; ``clip_id`` is None for cross-clip links."""

    cause_id: str
    effect_id: str
    relation: str = "causes"
    explanation: str = ""
    confidence: float | None = None
    clip_id: str | None = None
    provenance: str = ""


@dataclass(frozen=True, slots=True)
class EventBrief:
    """The little consolidation needs to propose cross-clip links."""

    id: str
    clip_index: int
    start_s: float
    end_s: float
    label: str
    description: str


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    video_id: str
    indexer: str
    model: str
    provider: str
    prompt_version: str
    status: str
    error: str | None
    clips_done: int
    clips_failed: int
    events: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class CharacterGroupLike(Protocol):
    """What :meth:`Store.write_characters` needs of a merged character."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def member_ids(self) -> tuple[str, ...]: ...
    @property
    def first_seen_s(self) -> float | None: ...


class LinkLike(Protocol):
    """What :meth:`Store.write_links` needs of a cross-clip link."""

    @property
    def cause_id(self) -> str: ...
    @property
    def effect_id(self) -> str: ...
    @property
    def relation(self) -> str: ...
    @property
    def explanation(self) -> str: ...
    @property
    def confidence(self) -> float | None: ...
