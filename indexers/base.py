"""The one interface every model adapter implements: one clip in, one analysis out.

An indexer declares what it can do as class attributes (like ``simonw/llm`` models), so the core
plans, prices and chooses without calling it and without knowing which adapter it is. The core
(``videoidx/``, ``ui/``) reads only these declarations; no module there names an adapter.

What an indexer declares (class attributes; those marked * may also be set per instance in
``__init__`` when they depend on the configuration, as the GLM adapter's do on its provider):

==========================  ==================================================================
``name``                    The registry key (``settings.provider.indexer``), recorded per run.
``display_name``            How the page and the CLI help call it ("Offline", "GLM-4.5V").
``needs_key`` *             It reads an API key; ``check_ready`` says which variable is missing.
``needs_network``           It sends frames off this machine.
``priced``                  A run can cost money: ``estimate_usage`` prices a clip, and the
                            page offers a cost cap. False means free (``estimate_usage`` is 0).
``max_images_per_request``  Most frames one request may carry (None: no limit) *.
``takes_video_url`` *       It wants ``ClipInput.clip_path`` (an MP4 of the clip).
``picture_fps`` *           It measures the picture itself: the run hands it each clip's small
                            pictures at this rate (``ClipInput.pictures``) from its own decode,
                            so it need not decode the clip again. 0: it wants none.
``takes_audio`` *           It measures the sound itself: the run hands it each clip's audio
                            (``ClipInput.audio``, 16 kHz mono) from the one decode of the
                            video's sound that speech uses too.
``finds_characters``        It can name people; False promises ``characters`` and
                            ``appearances`` stay empty (the offline indexer recognises nobody).
``finds_links``             It can say what caused what; False promises ``links`` stay empty.
``can_complete_text``       :meth:`Indexer.complete_text` answers chat messages with text (Q&A
                            answers, the consolidation pass's grouping and linking).
``can_look``                :meth:`Indexer.look` answers a question from frames (Q&A's "look
                            again"); the adapter builds its own image parts.
``can_reread``               :meth:`Indexer.reread` reads a stored raw reply again with today's
                            parser, calling nothing (``videoidx reparse``).
``provider_options()``      The providers a person may choose for it (``settings.provider``),
                            each with its default model, key variable and prices; empty for an
                            indexer with nothing to choose. The page, the dry run and
                            ``videoidx.provider_choices`` list these, not an adapter's tables.
==========================  ==================================================================

``cache_identity`` names everything about the indexer that changes its answer; the pipeline folds
it into each clip's cache key so a re-run with the same identity costs nothing.

Adapters are registered by name in :data:`indexers.REGISTRY` (see :mod:`indexers` for the
``videoidx.indexers`` entry-point group through which an installed package adds its own).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from videoidx.settings import Settings
from videoidx.types import ClipAnalysis, ClipInput, Frame, Usage

Messages = list[dict[str, Any]]
"""Chat messages in the OpenAI chat-completions shape (``role`` and ``content``)."""


@dataclass(frozen=True)
class ProviderOption:
    """One way of reaching an indexer's model that a person can choose (``settings.provider``)."""

    name: str
    model: str
    """The model used when none is set; empty when the user must name one."""
    base_url: str
    key_env: str | None
    """Environment variable holding the API key; None when it takes none."""
    key_required: bool = True
    """False: the key is sent when its variable is set, and not needed otherwise."""
    price_input_usd_per_mtok: float = 0.0
    price_output_usd_per_mtok: float = 0.0
    estimated_by_default: bool = False
    """Priced by a dry run that names no provider (the hosted, paid ways in)."""


class Indexer(ABC):
    """Analyse one clip at a time. Implementations must be safe to call from several threads."""

    name: ClassVar[str]
    display_name: ClassVar[str] = ""
    """Shown on the page and in the CLI help; the ``name`` when empty."""
    # Plain (not ClassVar) so an adapter whose capabilities depend on its configuration (the GLM
    # adapter's provider profile) can set them per instance; class-level values are the defaults.
    takes_video_url: bool = False
    """True when the indexer wants ``ClipInput.clip_path`` (an MP4 of the clip)."""
    picture_fps: float = 0.0
    """Small pictures per second the indexer wants with each clip (``ClipInput.pictures``)."""
    takes_audio: bool = False
    """True when the indexer wants each clip's audio (``ClipInput.audio``)."""
    max_images_per_request: int | None = None
    needs_key: bool = False
    needs_network: ClassVar[bool] = False
    priced: ClassVar[bool] = False
    finds_characters: ClassVar[bool] = False
    finds_links: ClassVar[bool] = False
    can_complete_text: ClassVar[bool] = False
    can_look: ClassVar[bool] = False
    can_reread: ClassVar[bool] = False

    def __init__(self, settings: Settings) -> None:
        """The registry builds every indexer as ``cls(settings)`` with the resolved settings."""
        self.settings = settings

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A declared capability without its method would fail at the first question instead.
        for flag, method in (
            ("can_complete_text", "complete_text"),
            ("can_look", "look"),
            ("can_reread", "reread"),
        ):
            if getattr(cls, flag) and getattr(cls, method) is getattr(Indexer, method):
                raise TypeError(f"{cls.__name__} sets {flag} but does not define {method}()")

    @classmethod
    def provider_options(cls) -> Sequence[ProviderOption]:
        """The providers a person may choose for this indexer; none by default."""
        return ()

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

    def complete_text(
        self, messages: Messages, *, thinking: bool = False, cancel: threading.Event | None = None
    ) -> tuple[str, Usage]:
        """Answer chat ``messages`` (text only) with the reply's text and what it cost.

        Only for indexers that set ``can_complete_text``. The text may still hold reasoning or
        wrappers; callers read it with :mod:`videoidx.replyjson`. ``thinking`` asks the model to
        reason first where it can; ``cancel`` stops the call as :meth:`analyze` does.
        """
        raise NotImplementedError(f"indexer {self.name!r} does not complete text")

    def look(
        self,
        frames: Sequence[Frame],
        question: str,
        *,
        system: str,
        closing: str = "",
        thinking: bool = False,
        cancel: threading.Event | None = None,
    ) -> tuple[str, Usage]:
        """Answer ``question`` from ``frames``: the reply's text and what it cost.

        Only for indexers that set ``can_look``. The request carries ``system`` as the rules,
        then ``question``, then the frames in time order, each preceded by its absolute time
        (``Frame.time_s``) as text, then ``closing``. The adapter encodes the images as its model
        takes them and keeps to its own ``max_images_per_request``.
        """
        raise NotImplementedError(f"indexer {self.name!r} cannot look at frames")

    def reread(self, raw_reply: str, clip: ClipInput, *, finish_reason: str = "") -> ClipAnalysis:
        """The analysis :meth:`analyze` would return today for the stored ``raw_reply``.

        Only for indexers that set ``can_reread``; nothing is called and nothing is paid.
        ``clip`` gives the clip's bounds and the video's size (its frames may be empty); a
        ``clip_path`` says the clip was sent as a video file, when the indexer can take one.
        Raise :class:`~videoidx.replyjson.ReplyParseError` when the reply cannot be read.
        """
        raise NotImplementedError(f"indexer {self.name!r} cannot re-read its replies")

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
