"""videoidx: turn long videos into a searchable, answerable timeline.

The public API is re-exported here; the CLI, the web page and the notebook use nothing else.
"""

from videoidx.errors import (
    BadReplyError,
    BudgetExceededError,
    CancelledError,
    ConfigError,
    ContentFilteredError,
    CorruptVideoError,
    EmptyVideoError,
    FFmpegError,
    MediaError,
    MissingKeyError,
    NotAVideoError,
    ProviderError,
    StoreError,
    VideoIdxError,
    VideoNotFoundError,
)
from videoidx.settings import Settings, resolve_settings
from videoidx.store import SearchHit, Store, search
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

__all__ = [
    "Appearance",
    "BadReplyError",
    "BudgetExceededError",
    "CancelledError",
    "CausalLink",
    "Character",
    "ClipAnalysis",
    "ClipInput",
    "ClipSpec",
    "ConfigError",
    "ContentFilteredError",
    "CorruptVideoError",
    "EmptyVideoError",
    "Event",
    "FFmpegError",
    "Frame",
    "MediaError",
    "MissingKeyError",
    "NotAVideoError",
    "ProviderError",
    "SearchHit",
    "Settings",
    "ShotCut",
    "Store",
    "StoreError",
    "Usage",
    "VideoIdxError",
    "VideoInfo",
    "VideoNotFoundError",
    "__version__",
    "resolve_settings",
    "search",
]
