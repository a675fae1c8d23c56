"""The one interface every model adapter implements: one clip in, one analysis out.

An indexer declares what it can do as class attributes (like ``simonw/llm`` models), so the
pipeline can plan without calling it: whether it wants a clip file for ``video_url``, how many
images one request may carry, whether it needs an API key. ``cache_identity`` names everything
about the indexer that changes its answer; the pipeline folds it into each clip's cache key so a
re-run with the same identity costs nothing.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from videoidx.types import ClipAnalysis, ClipInput, ClipSpec, Usage, VideoInfo


class Indexer(ABC):
    """Analyse one clip at a time. Implementations must be safe to call from several threads."""

    name: ClassVar[str]
    # Plain (not ClassVar) so an adapter whose capabilities depend on its configuration (the GLM
    # adapter's provider profile) can set them per instance; class-level values are the defaults.
    takes_video_url: bool = False
    """True when the indexer wants ``ClipInput.clip_path`` (an MP4 of the clip)."""
    max_images_per_request: int | None = None
    needs_key: bool = False
    needs_network: ClassVar[bool] = False

    @property
    def model_id(self) -> str:
        """The model behind the indexer, recorded with each run."""
        return self.name

    @property
    def prompt_version(self) -> str:
        """Version of whatever instructions the indexer follows; part of the cache key."""
        return "1"

    def cache_identity(self) -> str:
        """Everything about this indexer that changes its answer for the same frames."""
        return f"{self.name}|{self.model_id}|{self.prompt_version}"

    @abstractmethod
    def analyze(self, clip: ClipInput, *, cancel: threading.Event | None = None) -> ClipAnalysis:
        """Return the events, characters and causal links seen in ``clip``.

        Times in the result are absolute seconds within ``clip.clip`` bounds. Raise a
        :class:`~videoidx.errors.ProviderError` subclass when the clip cannot be analysed. When
        ``cancel`` is set (the user stopped the run), give up promptly, also in the middle of a
        request, with :class:`~videoidx.errors.CancelledError`. A reply that could only be
        partly read says why in ``ClipAnalysis.incomplete``.
        """

    def analyze_longer(
        self, clip: ClipInput, *, cancel: threading.Event | None = None
    ) -> ClipAnalysis | None:
        """A second try for a clip whose answer was cut off: room for a longer answer, or less
        to describe. None (the default) when the indexer has no such way; the pipeline then
        records the clip as failed."""
        return None

    def read_reply(
        self, raw_reply: str, clip: ClipSpec, video: VideoInfo, *, finish_reason: str = ""
    ) -> ClipAnalysis | None:
        """Read a reply this indexer received earlier (``clips.raw_reply``) with today's parser,
        without calling anything: what ``videoidx reparse`` uses. None (the default) when the
        indexer keeps no reply it could read again; raise
        :class:`~videoidx.errors.BadReplyError` when the reply still cannot be read."""
        return None

    def check_ready(self) -> None:  # noqa: B027 - optional hook
        """Raise a :class:`~videoidx.errors.ConfigError` now if the indexer cannot run (a missing
        API key), so a job fails before any media work instead of once per clip."""

    def estimate_usage(self, frame_sizes_px: Sequence[tuple[int, int]], duration_s: float) -> Usage:
        """Expected tokens and cost of analysing one clip, without calling anything.

        ``frame_sizes_px`` are the (width, height) of the frames that would be sent. Indexers that
        cost nothing (the offline one) keep this default of zero.
        """
        return Usage()

    def worker_env(self) -> dict[str, str]:
        """Environment variables a copy of this indexer built in another process (a Ray worker)
        needs, such as its API key; the engine ships them to its own workers and nowhere else."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook, most indexers hold nothing
        """Release connections or other resources."""
