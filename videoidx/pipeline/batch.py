"""Many videos into one store from one writer thread: the part every ``index_many`` engine shares.

An engine supplies two things: a :class:`MediaSource` (where probing and sampling run: this
thread, worker processes, Ray tasks), which hands over ``media_worker`` messages, and a
:class:`ModelCalls` (where indexer calls run: here, or as Ray tasks). A :class:`Batch` turns the
messages into the steps of each video's :class:`~videoidx.pipeline.run.VideoJob` and keeps the
pipeline's rules for the whole batch:

* **one writer**: every store write happens on the thread that calls :meth:`Batch.run`;
* **one concurrency limit**: every model call of every video (clip analyses and consolidation's
  text calls) runs on one pool of ``concurrency`` threads, so at most that many are open at once;
* **bounded memory**: while ``concurrency`` clips wait for the indexer the source is not read, so
  its bounded channel makes the media workers wait instead of piling up frames;
* **one failing video never stops the others**: it ends up in its own ``VideoResult``; a bad key
  or an empty quota (no video could succeed) stops the whole batch early, as it stops one video.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from indexers import Indexer
from videoidx.errors import VideoIdxError
from videoidx.pipeline.consolidate import (
    CancellableText,
    ConsolidationInput,
    TextModel,
    ask_groups,
    ask_links,
    read_consolidation_input,
    text_model_of,
    write_consolidation,
)
from videoidx.pipeline.media_worker import ClipReady, MediaMessage, Probed, ProbeFailed
from videoidx.pipeline.progress import Progress, ProgressCallback
from videoidx.pipeline.run import PendingClip, RunLimits, VideoJob, VideoResult
from videoidx.settings import Settings
from videoidx.store import Store
from videoidx.types import ClipAnalysis, Usage

log = logging.getLogger(__name__)

POLL_S = 0.02
"""How long the writer waits on one side (media or model calls) before looking at the other."""

T = TypeVar("T")


class MediaSource(Protocol):
    """Probes and samples the batch's videos somewhere, handing over their messages in order
    per video (``Probed``, ``ClipReady``..., ``MediaEnded``; or ``ProbeFailed``)."""

    @property
    def exhausted(self) -> bool:
        """True once every video's last message has been handed over."""
        ...

    def next(self, timeout_s: float) -> MediaMessage | None:
        """The next message, or None when none came within about ``timeout_s``."""
        ...

    def stop(self) -> None:
        """Stop all media work and release workers; safe to call more than once."""
        ...


class ModelCalls(Protocol):
    """Where the indexer runs. Both methods are called on the batch's call threads."""

    def analyse(self, job: VideoJob, pending: PendingClip) -> ClipAnalysis: ...

    def text_model(self, indexer: Indexer) -> TextModel | None: ...


class LocalCalls:
    """Model calls in this process, on the batch's threads."""

    def analyse(self, job: VideoJob, pending: PendingClip) -> ClipAnalysis:
        return job.analyse(pending)

    def text_model(self, indexer: Indexer) -> TextModel | None:
        return text_model_of(indexer)


@dataclass
class _Consolidation:
    data: ConsolidationInput
    groups: Future[Any]
    links: Future[Any]
    group_usage: Usage
    link_usage: Usage


@dataclass
class _Slot:
    """A video between ``Probed`` and its finished run."""

    job: VideoJob
    in_flight: int = 0
    media_done: bool = False
    consolidation: _Consolidation | None = None


@dataclass
class Batch:
    """One ``index_many`` run; :meth:`run` drives it from the calling (writer) thread."""

    paths: list[Path]
    settings: Settings
    store: Store
    indexer: Indexer
    calls: ModelCalls
    progress: ProgressCallback | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    limits: RunLimits = field(default_factory=RunLimits)

    def __post_init__(self) -> None:
        self.limit = self.settings.pipeline.concurrency
        self.results: list[VideoResult | None] = [None] * len(self.paths)
        self.slots: dict[int, _Slot] = {}
        self.first_with_content: dict[str, int] = {}
        self.duplicates: dict[int, int] = {}
        self.clip_calls: dict[Future[ClipAnalysis], tuple[int, PendingClip]] = {}
        self.text_calls: dict[Future[Any], int] = {}
        self.pool = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix="videoidx-call")

    # -- the loop ----------------------------------------------------------------------------

    def run(self, source: MediaSource) -> list[VideoResult]:
        """Index every video the source delivers; returns one result per path, in order."""
        try:
            self._loop(source)
        except BaseException:
            source.stop()
            for slot in self.slots.values():
                # Best effort while already failing: the original exception is the news.
                with contextlib.suppress(Exception):
                    slot.job.abort()
            raise
        finally:
            source.stop()
            self.pool.shutdown(wait=True, cancel_futures=True)
        return self._results()

    def _loop(self, source: MediaSource) -> None:
        while True:
            self._collect(timeout_s=0)
            if self.cancel.is_set() or self.limits.fatal is not None:
                source.stop()
                self._wind_down()
                return
            if source.exhausted:
                if not self.clip_calls and not self.text_calls:
                    return
                self._collect(timeout_s=POLL_S)
            elif len(self.clip_calls) >= self.limit:
                self._collect(timeout_s=POLL_S)
            else:
                message = source.next(POLL_S)
                if message is not None:
                    self._handle(message)

    def _wind_down(self) -> None:
        """Cancelled or fatally failed: drop unsent clips, store what is in flight, finish."""
        for fut in self.clip_calls:
            fut.cancel()
        while self.clip_calls or self.text_calls:
            self._collect(timeout_s=None)
        for index in list(self.slots):
            self._finish(index)

    def _collect(self, timeout_s: float | None) -> None:
        """Store the outcome of every finished call, waiting up to ``timeout_s`` for one."""
        waiting = [*self.clip_calls, *self.text_calls]
        if not waiting:
            return
        done, _ = wait(waiting, timeout=timeout_s, return_when=FIRST_COMPLETED)
        for fut in done:
            if fut in self.clip_calls:
                index, pending = self.clip_calls.pop(fut)
                slot = self.slots[index]
                slot.job.record_future(fut, pending)
                slot.in_flight -= 1
                self._advance(index)
            else:
                index = self.text_calls.pop(fut)
                consolidation = self.slots[index].consolidation
                assert consolidation is not None
                if not {consolidation.groups, consolidation.links} & self.text_calls.keys():
                    self._write_consolidation(index, consolidation)

    # -- messages ----------------------------------------------------------------------------

    def _handle(self, message: MediaMessage) -> None:
        if isinstance(message, ProbeFailed):
            self._fail(message.job, message.error)
        elif isinstance(message, Probed):
            self._begin(message)
        elif isinstance(message, ClipReady):
            slot = self.slots.get(message.job)
            if slot is None:
                return  # a duplicate, or a video whose run could not start
            pending = slot.job.offer(message.clip, message.frames, message.shot_cuts)
            if pending is not None:
                fut = self.pool.submit(self.calls.analyse, slot.job, pending)
                self.clip_calls[fut] = (message.job, pending)
                slot.in_flight += 1
        else:
            slot = self.slots.get(message.job)
            if slot is not None:
                slot.job.end_media(message.cuts, message.clips_planned, message.error)
                slot.media_done = True
                self._advance(message.job)

    def _begin(self, message: Probed) -> None:
        info, index = message.info, message.job
        first = self.first_with_content.get(info.video_id)
        if first is not None:
            # The same bytes under two names: index them once, not twice in parallel.
            self.duplicates[index] = first
            return
        self.first_with_content[info.video_id] = index
        job = VideoJob(
            self.paths[index],
            self.settings,
            self.store,
            self.indexer,
            self.progress,
            self.cancel,
            self.limits,
        )
        try:
            job.begin(info)
        except VideoIdxError as exc:
            self._fail(index, str(exc))
            return
        self.slots[index] = _Slot(job)

    def _fail(self, index: int, error: str) -> None:
        path = self.paths[index]
        self.results[index] = VideoResult(
            path=str(path), title=path.stem, status="failed", error=error
        )
        log.info("%s: failed: %s", path, error)
        if self.progress is not None:
            self.progress(Progress(video_id="", title=path.stem, stage="failed", message=error))

    # -- the end of one video ----------------------------------------------------------------

    def _advance(self, index: int) -> None:
        """Consolidate or finish the video once its media is over and no clip is in flight."""
        slot = self.slots[index]
        if not slot.media_done or slot.in_flight or slot.consolidation is not None:
            return
        job = slot.job
        if not job.should_consolidate:
            self._finish(index)
            return
        assert job.info is not None
        job.tracker.update(stage="consolidate")
        data = read_consolidation_input(self.store, job.info, job.indexer)
        model = self.calls.text_model(job.indexer)
        if model is not None:
            model = CancellableText(model, self.cancel)
        if model is None:
            write_consolidation(self.store, data, None, None)
            self._finish(index)
            return
        group_usage, link_usage = Usage(), Usage()
        slot.consolidation = _Consolidation(
            data,
            self.pool.submit(ask_groups, data, model, group_usage),
            self.pool.submit(ask_links, data, model, link_usage),
            group_usage,
            link_usage,
        )
        self.text_calls[slot.consolidation.groups] = index
        self.text_calls[slot.consolidation.links] = index

    def _write_consolidation(self, index: int, c: _Consolidation) -> None:
        usage = self.slots[index].job.result.usage
        usage.add(c.group_usage)
        usage.add(c.link_usage)
        groups = _outcome(c.groups, None)
        links = _outcome(c.links, [])
        write_consolidation(self.store, c.data, groups, links)
        self._finish(index)

    def _finish(self, index: int) -> None:
        self.results[index] = self.slots.pop(index).job.finish()

    def _results(self) -> list[VideoResult]:
        out: list[VideoResult] = []
        for index, path in enumerate(self.paths):
            result = self.results[index]
            if index in self.duplicates:
                first = self.results[self.duplicates[index]]
                result = VideoResult(
                    path=str(path),
                    video_id=first.video_id if first else "",
                    title=path.stem,
                    duration_s=first.duration_s if first else 0.0,
                    status=first.status if first else "failed",
                    error=f"same content as {self.paths[self.duplicates[index]]}: indexed once",
                )
            elif result is None:
                # Never started: the batch was cancelled or stopped by a fatal error first.
                fatal = self.limits.fatal
                result = VideoResult(
                    path=str(path),
                    title=path.stem,
                    status="cancelled" if fatal is None else "failed",
                    error="" if fatal is None else f"not started: {fatal}",
                )
            out.append(result)
        return out


def _outcome(fut: Future[T], fallback: T) -> T:
    """A consolidation call's answer; a crash there costs the model's grouping, not the video."""
    exc = fut.exception()
    if exc is None:
        return fut.result()
    log.warning("consolidation call failed, using the rule-based fallback", exc_info=exc)
    return fallback
