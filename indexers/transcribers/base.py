"""The one interface every speech engine implements: audio of a time span in, timed text out.

A :class:`Transcriber` sits beside :class:`~indexers.base.Indexer`. It is built with the resolved
settings (``cls(settings)``), declares what it can do as class attributes (so the core plans,
prices and chooses without calling it), and turns 16 kHz mono float32 samples that start at an
absolute time into :class:`~videoidx.types.SpeechSegment` s at absolute times.

What a transcriber declares (those marked * may be set per instance in ``__init__`` when they
depend on the configuration, as the remote one's do on its service profile):

===========================  =================================================================
``name``                     The registry key (``settings.speech.transcriber``).
``display_name``             How the page and the CLI call it.
``gives_times`` *            Segments carry the engine's own times. False for text-only
                             services: each piece of audio sent becomes one segment timed by
                             the piece's bounds (trimmed to where there is sound).
``word_times`` *             Segments carry :class:`~videoidx.types.Word` s with their times.
``multilingual`` *           It can transcribe more than one language (False: English only).
``languages`` *              Language codes it takes, when it is a known short list; empty
                             means any its model knows, or not known.
``needs_key`` *              It reads an API key; ``check_ready`` says which variable is missing.
``needs_network``            It sends audio off this machine.
``priced`` *                 Transcribing costs money: ``estimate_usage`` prices a duration.
``max_seconds_per_request``  * Longest audio one request takes (None: no limit); longer spans
                             are cut into pieces by the transcriber itself, at pauses.
``max_bytes_per_request`` *  Largest upload (None: no limit).
===========================  =================================================================

The input is any span the caller chooses (a clip's bounds, a chunk of
:class:`~videoidx.media.audio.AudioDecoder`); the transcriber keeps to its own limits. Times in
the output are absolute seconds within ``[start_s, start_s + len(samples) / 16000]``.

``cache_identity()`` names everything that changes the text for the same audio (engine, model,
language, provider): the caller folds it into the transcript's cache key, so a re-run with the
same identity transcribes nothing again and a new model re-transcribes only when asked.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from videoidx.settings import Settings
from videoidx.types import SpeechSegment, Usage

SAMPLE_RATE_HZ = 16_000
"""The rate of the samples every transcriber takes (``videoidx.media.audio`` decodes to it)."""


@dataclass
class Transcript:
    """What a transcriber returns for one span: segments at absolute times, and what it cost."""

    segments: list[SpeechSegment] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    """Requests made and money spent (``cost_usd``); zero for a local engine."""
    audio_s: float = 0.0
    """Seconds of audio transcribed (what per-minute prices are charged on)."""
    model: str = ""
    """The model that answered, as it names itself."""
    language: str = ""
    """The language detected (or set) for the span, where the engine says."""


class Transcriber(ABC):
    """Turn speech into timed text. Implementations must be safe to call from several threads."""

    name: ClassVar[str]
    display_name: ClassVar[str] = ""
    # Plain (not ClassVar), so a transcriber whose capabilities depend on its configuration
    # (the remote one's service profile) can set them per instance.
    gives_times: bool = True
    word_times: bool = False
    multilingual: bool = True
    languages: tuple[str, ...] = ()
    needs_key: bool = False
    needs_network: ClassVar[bool] = False
    priced: bool = False
    max_seconds_per_request: float | None = None
    max_bytes_per_request: int | None = None

    def __init__(self, settings: Settings) -> None:
        """The registry builds every transcriber as ``cls(settings)`` with resolved settings."""
        self.settings = settings

    @property
    def model_id(self) -> str:
        """The model behind the transcriber, recorded with each transcript."""
        return self.name

    def cache_identity(self) -> str:
        """Everything about this transcriber that changes its text for the same audio."""
        language = self.settings.speech.transcribe_language or "auto"
        return f"{self.name}|model={self.model_id}|language={language}"

    @abstractmethod
    def transcribe(
        self, samples: np.ndarray, start_s: float, *, cancel: threading.Event | None = None
    ) -> Transcript:
        """The speech in ``samples`` (16 kHz mono float32), whose first sample plays at the
        absolute time ``start_s``.

        Raise a :class:`~videoidx.errors.ProviderError` subclass when a service fails the
        request, :class:`~videoidx.errors.CancelledError` promptly when ``cancel`` is set (also
        in the middle of a request). Silence gives an empty transcript, not an error.
        """

    def check_ready(self) -> None:  # noqa: B027 - optional hook
        """Raise now if the transcriber cannot run: :class:`~videoidx.errors.EngineUnavailableError`
        (a package or model is missing; the message says what to install),
        :class:`~videoidx.errors.MissingKeyError`, or a :class:`~videoidx.errors.ConfigError`
        for a setting it cannot honour. A caller asks once before the first span, and says
        the reason once when speech is off for it."""

    def estimate_usage(self, duration_s: float) -> Usage:
        """Expected requests and cost of transcribing ``duration_s`` seconds, calling nothing
        (the dry run). Free engines keep this default of zero."""
        return Usage()

    def worker_env(self) -> dict[str, str]:
        """Environment variables a copy of this transcriber in another process needs (its API
        key, under its variable's name)."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or models held for this instance."""
