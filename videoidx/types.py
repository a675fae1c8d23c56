"""The data types that flow through videoidx, from probe to store.

They are plain frozen dataclasses so they can cross thread, process and Ray boundaries and be
compared in tests. Conventions that every module relies on:

* Times are **absolute seconds** from the first displayed frame of the video (``start_s``,
  ``end_s``, ``time_s``), floats, everywhere past the indexer boundary.
* Sizes carry their unit (``width_px``, ``size_bytes``), money is ``cost_usd``.
* Inside one :class:`ClipAnalysis`, events and characters are referred to by a short ``key``
  (``"e1"``, ``"c2"``) that is unique within that analysis; the store turns keys into row ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What :func:`videoidx.probe` learns about a video file."""

    video_id: str
    """Content hash of the file (sampled, see ``media.probe``): the same bytes under another name
    are the same video."""
    path: str
    title: str
    duration_s: float
    fps_avg: float
    fps_nominal: float
    frame_count: int
    width_px: int
    """Display width, after rotation and sample aspect ratio."""
    height_px: int
    rotation_deg: int
    codec: str
    has_audio: bool
    start_offset_s: float
    """The container's start time that was subtracted so the first displayed frame is t = 0."""
    size_bytes: int
    variable_frame_rate: bool = False
    video_stream: int = 0
    """Container index of the video stream that is read (the first with the default disposition,
    else the first). Not kept in the store: readers take it from the file (``media.probe``)."""
    video_streams: int = 1
    """How many video streams the file has (cover art not counted)."""


@dataclass(frozen=True, slots=True)
class ShotCut:
    """A hard cut: ``frame`` is the first frame of the new shot, ``time_s`` its timestamp."""

    frame: int
    time_s: float
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class ClipSpec:
    """One clip of a video, in absolute seconds; ``index`` counts from 0 in time order."""

    video_id: str
    index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class Frame:
    """One sampled frame: upright, resized, JPEG-encoded, with its absolute time."""

    time_s: float
    jpeg: bytes
    width_px: int
    height_px: int
    frame_index: int = -1
    reason: str = "fill"
    """Why it was sampled: ``keyframe``, ``shot`` (first frame of a shot) or ``fill``."""


@dataclass(frozen=True, slots=True, eq=False)
class ClipPictures:
    """Small pictures of one clip, for measuring change and colour.

    ``rgb`` is ``(n, height, width, 3)`` uint8, upright; ``times_s`` are absolute, about
    ``1 / fps`` apart within the clip. The run's own (``ClipInput.pictures``) are its 128x72
    analysis pictures, scaled by area averaging to 16:9 whatever the video's shape."""

    times_s: np.ndarray
    rgb: np.ndarray
    fps: float


@dataclass(frozen=True, slots=True)
class ClipInput:
    """Everything an indexer needs to analyse one clip."""

    video: VideoInfo
    clip: ClipSpec
    frames: tuple[Frame, ...]
    clip_path: Path | None = None
    """An MP4 of just this clip, when the indexer takes video input."""
    shot_cuts: tuple[ShotCut, ...] = ()
    """Hard cuts that fall inside this clip, one at its very start included."""
    cuts_before: int | None = None
    """How many hard cuts of the video come before this clip's start, so shots can be numbered
    per video. Set by the pipeline, whose one detector ran on the whole video: then an empty
    ``shot_cuts`` means the clip has no cut. None from a caller that ran no detector."""
    speech: tuple[SpeechSegment, ...] = ()
    """What is said in the clip (absolute times), when the run transcribes speech."""
    text_frames: tuple[Frame, ...] = ()
    """Frames for the run's on-screen text reader (larger, not deduplicated); the run empties it
    once the text is read, so an indexer never gets it."""
    screen_text: tuple[ScreenText, ...] | None = None
    """On-screen text read from the clip's frames by the run; None when the run read none (text
    off, or a caller outside the pipeline), so an indexer may read it itself."""
    pictures: ClipPictures | None = field(default=None, compare=False)
    """The clip's small pictures when the indexer asked for them (``Indexer.picture_fps``) and
    the run decoded every frame; None otherwise, so an indexer decodes the clip itself."""
    audio: np.ndarray | None = field(default=None, compare=False)
    """The clip's sound when the indexer asked for it (``Indexer.takes_audio``): 16 kHz mono
    float32, ``audio[0]`` at ``clip.start_s``, from the run's one decode of the video's sound.
    None when the run has none there (no audio stream, or it could not be decoded), so an
    indexer decodes the clip itself."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happens between ``start_s`` and ``end_s`` (absolute seconds)."""

    key: str
    start_s: float
    end_s: float
    label: str
    description: str = ""
    characters: tuple[str, ...] = ()
    """Keys of :class:`Character` entries of the same analysis."""
    objects: tuple[str, ...] = ()
    location: str = ""
    on_screen_text: str = ""
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Character:
    """A person, animal or other recurring agent, by name or a stable descriptor."""

    key: str
    name: str
    description: str = ""
    first_seen_s: float | None = None


@dataclass(frozen=True, slots=True)
class Appearance:
    """A character seen in an event or over a time span, with an optional pixel box."""

    character_key: str
    start_s: float
    end_s: float
    event_key: str | None = None
    box_px: tuple[float, float, float, float] | None = None
    """``(x1, y1, x2, y2)`` in pixels of the original (upright, display-size) frame."""


@dataclass(frozen=True, slots=True)
class CausalLink:
    """``cause_key`` leads to ``effect_key`` (event keys of the same analysis)."""

    cause_key: str
    effect_key: str
    relation: str = "causes"
    explanation: str = ""
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Word:
    """One spoken word with its own times (absolute seconds), where the engine gives them."""

    start_s: float
    end_s: float
    text: str
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class SpeechSegment:
    """Something said between ``start_s`` and ``end_s`` (absolute seconds), as transcribed.

    Text from the outside world: prompts quote it as data (``videoidx.prompting``), never as
    instructions."""

    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = ()
    language: str = ""
    confidence: float | None = None
    speaker: str = ""


@dataclass(frozen=True, slots=True)
class ScreenText:
    """Text shown on screen from ``start_s`` to ``end_s`` (absolute seconds), read from frames;
    repeated reads of the same text are merged into one span."""

    start_s: float
    end_s: float
    text: str
    confidence: float | None = None
    box_px: tuple[float, float, float, float] | None = None
    """``(x1, y1, x2, y2)`` in pixels of the upright, display-size frame."""


@dataclass(slots=True)
class Usage:
    """Tokens and money spent on one or more requests."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    requests: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cached_tokens += other.cached_tokens
        self.cost_usd += other.cost_usd
        self.requests += other.requests


@dataclass(slots=True)
class ClipAnalysis:
    """What an indexer returns for one clip. Times are already absolute."""

    events: list[Event] = field(default_factory=list)
    characters: list[Character] = field(default_factory=list)
    appearances: list[Appearance] = field(default_factory=list)
    links: list[CausalLink] = field(default_factory=list)
    summary: str = ""
    raw_reply: str = ""
    """The model's reply as received, stored so a better parser can re-read it for free."""
    reasoning: str = ""
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str = ""
    dropped_items: int = 0
    """Items discarded because their times fell outside the clip or could not be parsed."""
    clamped_items: int = 0
    """Items whose times were pulled back inside the clip bounds."""
    incomplete: str = ""
    """Why the reply could only be partly read (cut off at the token limit, JSON ending
    mid-item), or "" when it was read whole. The pipeline never stores such a clip as done:
    its events would silently be a fraction of the clip's, and a re-run would not ask again."""
    speech: list[SpeechSegment] = field(default_factory=list)
    """What was said in the clip, stored with it (set by the pipeline, not the indexer)."""
    speech_engine: str = ""
    """The transcriber's name, and ``speech_model`` its model, for the stored speech rows."""
    speech_model: str = ""
    screen_text: list[ScreenText] = field(default_factory=list)
    """On-screen text read in the clip, stored with it (set by the pipeline)."""
    text_engine: str = ""
    """The OCR engine that read ``screen_text``."""
