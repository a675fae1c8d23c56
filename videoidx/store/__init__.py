"""The DuckDB store and its search: where a video's timeline lives once it is indexed.

``Store.open(path)`` gives a thread-safe handle (one writer, any number of reading cursors);
:func:`search` ranks events by BM25; :mod:`videoidx.store.export` writes JSON, WebVTT, SRT and
Parquet. The file is plain DuckDB: ``duckdb.connect(path).sql("SELECT * FROM timeline").df()``
works from any notebook (see ``migrations.py`` for the tables).
"""

from videoidx.store.records import (
    ClipCharacter,
    EventBrief,
    IndexSize,
    RunSummary,
    StoredAppearance,
    StoredCharacter,
    StoredClip,
    StoredEvent,
    StoredLink,
    StoredSaid,
    VideoSummary,
)
from videoidx.store.rows import ClipWrite
from videoidx.store.search import SearchHit, search
from videoidx.store.store import Store

__all__ = [
    "ClipCharacter",
    "ClipWrite",
    "EventBrief",
    "IndexSize",
    "RunSummary",
    "SearchHit",
    "Store",
    "StoredAppearance",
    "StoredCharacter",
    "StoredClip",
    "StoredEvent",
    "StoredLink",
    "StoredSaid",
    "VideoSummary",
    "search",
]
