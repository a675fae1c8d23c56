"""videoidx: turn long videos into a searchable, answerable timeline.

The public API is re-exported here; the CLI, the web page and the notebook use nothing else.
"""

from typing import Any

from videoidx.catalog import (
    IndexerChoice,
    ProviderChoice,
    check_ready,
    indexer_choice,
    indexer_choices,
    indexer_names,
    provider_choices,
)
from videoidx.errors import (
    BadReplyError,
    BudgetExceededError,
    CancelledError,
    ConfigError,
    ContentFilteredError,
    CorruptVideoError,
    DamagedFramesError,
    DatasetError,
    EmptyVideoError,
    FFmpegError,
    KeyDestinationError,
    MediaError,
    MissingKeyError,
    NotAVideoError,
    ProviderError,
    StoreError,
    VideoIdxError,
    VideoNotFoundError,
)
from videoidx.media.cut import CutClip, cut_clip
from videoidx.media.plan import plan_clips
from videoidx.media.probe import probe
from videoidx.media.scan import Scan, detect_shots, sample_clip, sample_frames, scan_video
from videoidx.pipeline.progress import TERMINAL_STAGES, Stage
from videoidx.routing import open_library, open_sql, search
from videoidx.settings import Settings, clip_length_settings, resolve_settings
from videoidx.store import (
    SearchHit,
    Store,
    StoredCharacter,
    StoredEvent,
    StoredLink,
    VideoSummary,
)
from videoidx.times import clock, clock_span, parse_seconds
from videoidx.types import (
    Appearance,
    CausalLink,
    Character,
    ClipAnalysis,
    ClipInput,
    ClipSpec,
    Event,
    Frame,
    ShotCut,
    Usage,
    VideoInfo,
)

__version__ = "0.1.0"

# The pipeline and Q&A are composition roots: they import ``indexers``, which imports videoidx's
# types. Loading them on first use keeps ``import videoidx`` light and free of that cycle.
_LAZY = {
    "index_video": "videoidx.pipeline.run",
    "index_many": "videoidx.pipeline.bulk",
    "VideoResult": "videoidx.pipeline.run",
    "Progress": "videoidx.pipeline.progress",
    "ProgressCallback": "videoidx.pipeline.progress",
    "plan_video": "videoidx.pipeline.dryrun",
    "reparse": "videoidx.pipeline.reparse",
    "ReparseResult": "videoidx.pipeline.reparse",
    "VideoPlan": "videoidx.pipeline.dryrun",
    "reembed": "videoidx.pipeline.embed",
    "query_embedder": "videoidx.pipeline.embed",
    "EmbedReport": "videoidx.pipeline.embed",
    "ask": "videoidx.qa",
    "Answer": "videoidx.qa",
    "Citation": "videoidx.qa",
    "Client": "videoidx.client",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'videoidx' has no attribute {name!r}")


__all__ = [
    "TERMINAL_STAGES",
    "Answer",
    "Appearance",
    "BadReplyError",
    "BudgetExceededError",
    "CancelledError",
    "CausalLink",
    "Character",
    "Citation",
    "Client",
    "ClipAnalysis",
    "ClipInput",
    "ClipSpec",
    "ConfigError",
    "ContentFilteredError",
    "CorruptVideoError",
    "CutClip",
    "DamagedFramesError",
    "DatasetError",
    "EmbedReport",
    "EmptyVideoError",
    "Event",
    "FFmpegError",
    "Frame",
    "IndexerChoice",
    "KeyDestinationError",
    "MediaError",
    "MissingKeyError",
    "NotAVideoError",
    "Progress",
    "ProgressCallback",
    "ProviderChoice",
    "ProviderError",
    "ReparseResult",
    "Scan",
    "SearchHit",
    "Settings",
    "ShotCut",
    "Stage",
    "Store",
    "StoreError",
    "StoredCharacter",
    "StoredEvent",
    "StoredLink",
    "Usage",
    "VideoIdxError",
    "VideoInfo",
    "VideoNotFoundError",
    "VideoPlan",
    "VideoResult",
    "VideoSummary",
    "__version__",
    "ask",
    "check_ready",
    "clip_length_settings",
    "clock",
    "clock_span",
    "cut_clip",
    "detect_shots",
    "index_many",
    "index_video",
    "indexer_choice",
    "indexer_choices",
    "indexer_names",
    "open_library",
    "open_sql",
    "parse_seconds",
    "plan_clips",
    "plan_video",
    "probe",
    "provider_choices",
    "query_embedder",
    "reembed",
    "reparse",
    "resolve_settings",
    "sample_clip",
    "sample_frames",
    "scan_video",
    "search",
]
