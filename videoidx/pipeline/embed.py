"""Vectors for the search documents: made as clips commit, off the writer's path, resumable.

:func:`embed_missing` embeds every document (of some videos, or all) that has no vector of the
embedder's model yet, in batches: read the texts (a read cursor), embed them (no lock held),
write the vectors (one short transaction per batch). Because "missing" is a query, the same
function serves every case: the clips of a run as they commit, a run killed mid-way and run
again (its documents without vectors are embedded, nothing else is redone), a changed model,
and ``videoidx reembed``.

:class:`EmbedWorker` is the batch's background thread: the writer pokes it after each clip is
stored (:meth:`EmbedWorker.clip_stored`), it embeds that video's new documents while the next
clips are analysed, and :meth:`EmbedWorker.finish` embeds what is left at the end of the batch.
An embedding failure is a note on the run, never a failed video: the timeline is stored and
keyword search works; ``videoidx reembed`` makes the vectors later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from indexers import Embedder, embedder_status, open_embedder
from videoidx.errors import CancelledError, ConfigError, EngineUnavailableError, VideoIdxError
from videoidx.settings import EmbeddingSettings, Settings, resolve_settings
from videoidx.store import Store
from videoidx.store import vectors as vec
from videoidx.types import Usage

log = logging.getLogger(__name__)

EmbedProgress = Callable[[int, int], None]
"""Hears (documents embedded so far, documents to embed) after each batch."""


@dataclass
class EmbedReport:
    """What one :func:`embed_missing` call did."""

    model_key: str = ""
    docs: int = 0
    """Vectors written."""
    usage: Usage = field(default_factory=Usage)


def embed_missing(
    store: Store,
    embedder: Embedder,
    *,
    video_ids: Sequence[str] | None = None,
    cancel: threading.Event | None = None,
    progress: EmbedProgress | None = None,
    redo: bool = False,
) -> EmbedReport:
    """Embed every document of ``video_ids`` (None: the whole store) that has no vector of
    ``embedder``'s model; ``redo`` drops that model's vectors first (of those videos)."""
    model = vec.ensure_model(
        store, embedder.model_key, embedder.name, embedder.model_id, embedder.dims
    )
    if redo:
        vec.drop_vectors(store, model, video_ids=video_ids)
    report = EmbedReport(model.model_key)
    total = len(vec.missing_docs(store, model, video_ids=video_ids))
    batch = max(1, embedder.batch_size)
    while True:
        if cancel is not None and cancel.is_set():
            raise CancelledError(
                f"embedding was cancelled after {report.docs} documents; run again to embed "
                "the rest"
            )
        docs = vec.missing_docs(store, model, video_ids=video_ids, limit=batch)
        if not docs:
            return report
        got = embedder.embed([d.text for d in docs], cancel=cancel)
        report.usage.add(got.usage)
        written = vec.write_vectors(store, model, docs, got.vectors)
        report.docs += written
        if progress is not None:
            progress(report.docs, total)


CANCELLED_JOIN_S = 0.5
"""How long a cancelled run waits for the embedding thread before it goes on without it."""


class EmbedWorker:
    """A batch's embedding thread (see the module docstring)."""

    def __init__(self, store: Store, embedder: Embedder, cancel: threading.Event) -> None:
        self.store = store
        self.embedder = embedder
        self.cancel = cancel
        self.notes: list[str] = []
        """What went wrong, one sentence each (said on the run's results)."""
        self.usage = Usage()
        self.docs = 0
        self._videos: set[str] = set()
        self._wake = threading.Condition()
        self._stopping = False
        self._failed = False
        self._exited = False
        self._close_on_exit = False
        """Set by a cancelled ``finish`` that left the thread running: it closes the embedder."""
        self._thread = threading.Thread(target=self._run, name="videoidx-embed", daemon=True)
        self._thread.start()

    def clip_stored(self, video_id: str) -> None:
        """A clip of ``video_id`` was committed: embed its documents soon."""
        with self._wake:
            self._videos.add(video_id)
            self._wake.notify()

    def _run(self) -> None:
        try:
            while True:
                with self._wake:
                    while not self._videos and not self._stopping:
                        self._wake.wait()
                    if self._stopping:
                        return
                    videos, self._videos = sorted(self._videos), set()
                self._embed(videos)
        finally:
            with self._wake:
                self._exited = True
                close = self._close_on_exit
            if close:
                self.embedder.close()

    def _embed(self, video_ids: Sequence[str]) -> None:
        if self._failed or self.cancel.is_set():
            return
        try:
            report = embed_missing(
                self.store, self.embedder, video_ids=list(video_ids), cancel=self.cancel
            )
        except CancelledError:
            return
        except VideoIdxError as exc:
            self._failed = True
            self.notes.append(
                f"events were not embedded for semantic search ({exc}); the timeline is stored: "
                "run `videoidx reembed` once the embedder works"
            )
            log.warning("%s", self.notes[-1])
            return
        self.docs += report.docs
        self.usage.add(report.usage)

    def finish(self, video_ids: Sequence[str]) -> None:
        """Stop the thread, then embed what ``video_ids`` still lack (unless cancelled)."""
        self.stop()
        if video_ids:
            self._embed(video_ids)
        with self._wake:
            if not self._exited:
                # Cancelled, and the thread is still in a request or loading the model: closing
                # the embedder under it would break that call; it closes it as it ends.
                self._close_on_exit = True
                return
        self.embedder.close()

    def stop(self) -> None:
        """Stop the thread (after the batch it is embedding, if any). A cancelled run does not
        wait for it: the thread may be loading a model for seconds, and Ctrl-C must end the run
        promptly; the vectors it had no time for are embedded by the next run."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(CANCELLED_JOIN_S if self.cancel.is_set() else None)


_said_off = False


def open_embed_worker(
    settings: Settings, store: Store, cancel: threading.Event
) -> EmbedWorker | None:
    """The batch's embedding thread, or None when semantic search is off; says once per
    process how to turn it on when it is off but was not turned off."""
    global _said_off
    status = embedder_status(settings)
    if status.warning and not _said_off:
        _said_off = True
        log.warning("%s", status.warning)
    embedder = open_embedder(settings)
    if embedder is None:
        return None
    try:
        # A missing key is a configuration mistake and stops the run, as the indexer's does;
        # a missing local model only turns semantic search off.
        embedder.check_ready()
    except EngineUnavailableError as exc:
        log.warning("%s", exc)
        embedder.close()
        return None
    return EmbedWorker(store, embedder, cancel)


_query_embedders: dict[EmbeddingSettings, Embedder | None] = {}
_query_lock = threading.Lock()


def query_embedder(settings: Settings) -> Embedder | None:
    """The embedder searches use to embed a query (None when semantic search is off), built
    once per process for the same ``[embedding]`` settings: the page, Q&A and the CLI pass it
    to :func:`videoidx.store.search`. Nothing is loaded until a query is embedded."""
    with _query_lock:
        key = settings.embedding
        if key not in _query_embedders:
            _query_embedders[key] = open_embedder(settings)
        return _query_embedders[key]


def reembed(
    db: str | None = None,
    *,
    video_ids: Sequence[str] | None = None,
    settings: Settings | None = None,
    redo: bool = False,
    progress: EmbedProgress | None = None,
    store: Store | None = None,
) -> EmbedReport:
    """Embed every document of the store (or of ``video_ids``) that lacks a vector of the
    active embedder's model; ``redo`` embeds them all again. Free with the local embedder.

    ConfigError saying how to turn one on when semantic search is off."""
    settings = settings or resolve_settings({"db_path": db} if db else {})
    embedder = open_embedder(settings)
    if embedder is None:
        why = embedder_status(settings).reason or "the embedder setting is 'none'"
        raise ConfigError(
            f"nothing to embed with: {why}; set embedder in the [embedding] settings "
            "(or VIDEOIDX_EMBEDDER) to 'local' or a remote profile"
        )
    embedder.check_ready()
    own = store is None
    store = store or Store.open(settings.db_path)
    try:
        return embed_missing(store, embedder, video_ids=video_ids, progress=progress, redo=redo)
    finally:
        embedder.close()
        if own:
            store.close()
