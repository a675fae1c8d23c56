"""Clip cache keys: everything that changes a clip's answer, hashed.

A clip whose key is already stored as done is not sent again, so a re-run costs zero tokens. The
key covers the video content (``video_id``), the clip bounds, the indexer's identity (name, model,
prompt version and its answer-changing options) and the frame settings that decide which pixels
the indexer sees. Settings that cannot change the answer (concurrency, database path, UI) are left
out on purpose, so changing them keeps the cache.
"""

from __future__ import annotations

import hashlib
import json

from videoidx.settings import MediaSettings
from videoidx.types import ClipSpec

# Media settings that change which frames (and which pixels) an indexer sees.
FRAME_SETTINGS = (
    "frame_max_gap_s",
    "frame_budget",
    "frame_long_side_px",
    "jpeg_quality",
    "dedupe_threshold",
    "burn_timestamps",
    "sample_mode",
)


def clip_cache_key(clip: ClipSpec, indexer_identity: str, media: MediaSettings) -> str:
    """A stable hex key for one clip analysed by one indexer under given frame settings."""
    frame_settings = {name: getattr(media, name, None) for name in FRAME_SETTINGS}
    payload = json.dumps(
        {
            "video_id": clip.video_id,
            # Millisecond rounding: float noise in planning must not invalidate the cache.
            "start_ms": round(clip.start_s * 1000),
            "end_ms": round(clip.end_s * 1000),
            "indexer": indexer_identity,
            "frames": frame_settings,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
