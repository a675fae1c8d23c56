"""Index one video: a batch of one on the indexing engine (``pipeline.batch``).

``index_video`` runs the same engine as ``index_many`` and the web page, with the same rules
(one concurrency limit, one cost cap, one writer, the same per-clip and per-video steps), so
one file indexed either way stores the same rows. Its media work runs on the calling thread,
interleaved with the model calls on the batch's threads: no worker process to start, and at
most ``concurrency + 1`` clips of frames in memory however long the video.
"""

from __future__ import annotations

import threading
from pathlib import Path

from indexers import Indexer
from videoidx.pipeline.batch import run_batch
from videoidx.pipeline.bulk import InProcessSource
from videoidx.pipeline.job import VideoResult
from videoidx.pipeline.progress import ProgressCallback
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store

__all__ = ["VideoResult", "index_video"]


def index_video(
    path: str | Path,
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    indexer: Indexer | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> VideoResult:
    """Index one video file into the store and return what happened.

    Bad input (missing, empty, corrupt, not a video) raises a :class:`MediaError` before anything
    is stored; everything after that is reported in the result, never raised, so a batch can go
    on with the next video. ``store`` and ``indexer`` are opened from ``settings`` when not given
    and closed again at the end.
    """
    settings = settings or resolve_settings()
    cancel = cancel or threading.Event()
    (result,) = run_batch(
        [Path(path)],
        settings,
        lambda batch: InProcessSource(
            batch.paths,
            batch.settings.media,
            batch.cancel,
            raise_probe_errors=True,
            with_audio=batch.wants_audio,
        ),
        store=store,
        indexer=indexer,
        progress=progress,
        cancel=cancel,
    )
    return result
