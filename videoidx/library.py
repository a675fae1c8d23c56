"""A library file opened here, with the reading verbs of :class:`videoidx.Client`.

:func:`videoidx.open_library` gives this when no server holds the file and a ``Client`` when
one does, so notebook code reads the same either way::

    with videoidx.open_library("library.duckdb") as lib:
        hits = lib.search("goal", limit=5)
        events = lib.events(hits[0].video_id)

Both return the library's own types and raise the same errors. Writing verbs (index, delete,
ask, which logs its answer) stay with :func:`videoidx.index_many` and :func:`videoidx.ask`,
which route on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from videoidx.routing import search as routed_search
from videoidx.store import SearchHit, Store, StoredEvent, VideoSummary
from videoidx.store import export as exports
from videoidx.types import VideoInfo


class LocalLibrary:
    """The file at ``db_path``, opened read-only in this process until :meth:`close`."""

    def __init__(self, db_path: str | Path) -> None:
        self.store = Store.open(db_path, read_only=True)  # says so when there is no file

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> LocalLibrary:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def videos(self) -> list[VideoSummary]:
        return self.store.list_videos()

    def video(self, video_id: str) -> VideoInfo:
        return self.store.require_video(video_id)

    def events(self, video_id: str) -> list[StoredEvent]:
        """The video's timeline, in time order."""
        self.video(video_id)
        return self.store.events(video_id)

    def transcript(self, video_id: str) -> list[dict[str, Any]]:
        return exports.speech_segments(self.store, video_id)

    def search(
        self,
        query: str,
        *,
        video_ids: Sequence[str] | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
        character: str | None = None,
        label: str | None = None,
        limit: int = 20,
        mode: str | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        return routed_search(
            self.store,
            query,
            video_ids=video_ids,
            start_s=start_s,
            end_s=end_s,
            character=character,
            label=label,
            limit=limit,
            mode=mode,
            kinds=kinds,
        )

    def export(self, video_id: str, format: str = "json", *, speech: bool = False) -> Any:
        """The timeline document (``json``, a dict) or the text of ``vtt``, ``srt``,
        ``chapters``: what :meth:`videoidx.Client.export` returns."""
        return exports.export_as(self.store, video_id, format, speech=speech)

    def export_parquet(self, video_id: str, out_dir: str | Path) -> list[Path]:
        return exports.export_parquet(self.store, video_id, out_dir)
