"""The indexing engine: videos into one store from one writer thread, as one batch.

Every way of indexing drives this engine: ``index_video`` (a batch of one, media work on the
calling thread), ``index_many`` (media work in worker processes or Ray tasks) and the web page's
jobs (each Start press or re-index is one batch). They differ only in what they hand to
:func:`run_batch`: a :class:`MediaSource` (where probing and sampling run: this thread, worker
processes, Ray tasks), which hands over ``media_worker`` messages, and a
:class:`~videoidx.pipeline.steps.ModelCalls` (where indexer calls run: here, or as Ray tasks).
A :class:`Batch` turns the messages into the steps of each video's
:class:`~videoidx.pipeline.job.VideoJob` and keeps the pipeline's rules for the whole batch:

* **one writer**: every store write happens on the thread that calls :meth:`Batch.run`;
* **one concurrency limit**: every model call of every video (clip analyses and the per-video
  steps' calls) runs on one pool of ``concurrency`` threads, so at most that many are open at
  once;
* **one cost cap**: ``max_cost_usd`` caps the whole batch's estimated spend (``RunLimits``);
* **bounded memory**: while ``concurrency`` clips wait for the indexer, one more clip is read
  (so media work overlaps the calls, even when it runs on this thread) and then the source is
  not read, so its bounded channel makes the media workers wait instead of piling up frames:
  at most ``concurrency + 1`` clips of frames are held here;
* **one failing video never stops the others**: it ends up in its own ``VideoResult``; a bad key
  or an empty quota (no video could succeed) stops the whole batch early, as it stops one video;
* **duplicates by content** (the same bytes under two names) are indexed once.

**Where a new step goes**: the work itself lives in ``pipeline.steps``: per clip in
``steps.analyse_clip`` (every engine runs it for every clip), per video in ``steps.VIDEO_STEPS``
(after a video's clips are stored: consolidation today). This engine runs them under the rules
above and emits one progress stage per step (``progress.Stage``); nothing else schedules
indexing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from indexers import Indexer, create_indexer
from videoidx.errors import CancelledError, VideoIdxError
from videoidx.pipeline import heap
from videoidx.pipeline.consolidate import TextModel, text_model_of
from videoidx.pipeline.embed import open_embed_worker
from videoidx.pipeline.job import PendingClip, RunLimits, VideoJob, VideoResult
from videoidx.pipeline.media_worker import ClipReady, MediaMessage, Probed, ProbeFailed
from videoidx.pipeline.progress import Progress, ProgressCallback, Stage
from videoidx.pipeline.senses import ClipSenses, open_senses
from videoidx.pipeline.steps import VIDEO_STEPS, ModelCalls, StepWork, analyse_clip
from videoidx.settings import Settings
from videoidx.store import Store
from videoidx.types import ClipAnalysis
from videoidx.vocab import RunStatus

log = logging.getLogger(__name__)

POLL_S = 0.02
"""How long the writer waits on one side (media or model calls) before looking at the other."""

ResultCallback = Callable[[VideoResult], None]
"""Hears each video's result as soon as it is settled (on the writer thread: be quick)."""


def run_batch(
    paths: Sequence[Path],
    settings: Settings,
    start: Callable[[Batch], MediaSource],
    *,
    store: Store | None = None,
    indexer: Indexer | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_result: ResultCallback | None = None,
) -> list[VideoResult]:
    """Index ``paths`` as one batch; ``start`` starts its media work (and may point the batch's
    model calls elsewhere). Returns one result per path, in order.

    ``store`` and ``indexer`` are opened from ``settings`` when not given and closed again at
    the end; the indexer's readiness (a key, a model) is checked before anything is read. The
    speech and on-screen text engines (``pipeline.senses``) are opened once for the batch; one
    that cannot run here is said once and left out.
    """
    own_store = store is None
    store = store or Store.open(settings.db_path)
    try:
        own_indexer = indexer is None
        indexer = indexer or create_indexer(settings)
        try:
            indexer.check_ready()
            heap.limit()  # before the engines start their threads
            senses = open_senses(settings)
            # The media work decodes frames for the text reader only when one reads them.
            # Likewise small pictures with each clip, for an indexer that measures them.
            settings = settings.replace(
                text_long_side_px=senses.text_long_side_px, picture_fps=indexer.picture_fps
            )
            cancel = cancel or threading.Event()
            # Vectors for semantic search, on their own thread as clips commit (pipeline.embed).
            embed = open_embed_worker(settings, store, cancel)
            try:
                batch = Batch(
                    list(paths),
                    settings,
                    store,
                    indexer,
                    LocalCalls(),
                    progress,
                    cancel,
                    on_result=on_result,
                    senses=senses,
                    on_clip_stored=embed.clip_stored if embed is not None else None,
                )
                results = batch.run(start(batch))
                if embed is not None:
                    embed.finish([r.video_id for r in results if r.video_id and r.clips_done])
                    for r in results:
                        r.notes.extend(embed.notes)
                return results
            finally:
                if embed is not None:
                    embed.stop()
                senses.close()
        finally:
            if own_indexer:
                indexer.close()
    finally:
        if own_store:
            store.close()


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


class LocalCalls:
    """Model calls in this process, on the batch's threads."""

    def analyse(self, job: VideoJob, pending: PendingClip) -> ClipAnalysis:
        return analyse_clip(
            job.indexer,
            job.settings,
            pending.clip_input,
            job.clip_dir,
            job.cancel,
            senses=job.senses,
            audio=pending.audio,
        )

    def text_model(self, indexer: Indexer) -> TextModel | None:
        return text_model_of(indexer)


@dataclass
class _Slot:
    """A video between ``Probed`` and its finished run."""

    job: VideoJob
    in_flight: int = 0
    media_done: bool = False
    next_step: int = 0
    """Index in ``VIDEO_STEPS`` of the next per-video step to consider."""
    step: StepWork | None = None
    step_calls: list[Future[Any]] = field(default_factory=list)
    """The running step's calls, in its order (its ``write`` gets them so)."""


@dataclass
class Batch:
    """One batch of videos; :meth:`run` drives it from the calling (writer) thread."""

    paths: list[Path]
    settings: Settings
    store: Store
    indexer: Indexer
    calls: ModelCalls
    progress: ProgressCallback | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    limits: RunLimits = field(default_factory=RunLimits)
    on_result: ResultCallback | None = None
    senses: ClipSenses = field(default_factory=ClipSenses)
    """Speech and on-screen text engines of the batch (none by default)."""
    on_clip_stored: Callable[[str], None] | None = None
    """Hears the video id after each clip is written (the embedding thread: be quick)."""

    def __post_init__(self) -> None:
        self.limit = self.settings.pipeline.concurrency
        self.results: list[VideoResult | None] = [None] * len(self.paths)
        self.slots: dict[int, _Slot] = {}
        self.first_with_content: dict[str, int] = {}
        self.duplicates: dict[int, int] = {}
        self.clip_calls: dict[Future[ClipAnalysis], tuple[int, PendingClip]] = {}
        self.step_calls: dict[Future[Any], int] = {}
        self.held: ClipReady | None = None
        """A clip read ahead while every call slot was busy, offered once one frees."""
        self.pool = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix="videoidx-call")

    @property
    def wants_audio(self) -> bool:
        """Whether the media work should hand over each clip's audio: for speech, or for an
        indexer that measures the sound (one decode of the video's sound serves both)."""
        return self.senses.wants_audio or self.indexer.takes_audio

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
            full = len(self.clip_calls) >= self.limit
            if self.held is not None and not full:
                held, self.held = self.held, None
                self._handle(held)
            elif self.held is not None or source.exhausted:
                if source.exhausted and not (self.clip_calls or self.step_calls or self.held):
                    return
                self._collect(timeout_s=POLL_S)
            else:
                message = source.next(POLL_S)
                if isinstance(message, ClipReady) and full:
                    self.held = message  # read while the calls in flight wait for answers
                elif message is not None:
                    self._handle(message)

    def _wind_down(self) -> None:
        """Cancelled or fatally failed: drop unsent clips, store what is in flight, finish."""
        if self.held is not None:
            # Offered, not sent: a cached clip is still adopted, any other counts as skipped.
            held, self.held = self.held, None
            self._handle(held)
        for fut in self.clip_calls:
            fut.cancel()
        while self.clip_calls or self.step_calls:
            self._collect(timeout_s=None)
        for index in list(self.slots):
            self._finish(index)

    def _collect(self, timeout_s: float | None) -> None:
        """Store the outcome of every finished call, waiting up to ``timeout_s`` for one."""
        waiting = [*self.clip_calls, *self.step_calls]
        if not waiting:
            return
        done, _ = wait(waiting, timeout=timeout_s, return_when=FIRST_COMPLETED)
        for fut in done:
            if fut in self.clip_calls:
                index, pending = self.clip_calls.pop(fut)
                slot = self.slots[index]
                slot.job.record_future(fut, pending)
                if self.on_clip_stored is not None and slot.job.info is not None:
                    self.on_clip_stored(slot.job.info.video_id)
                slot.in_flight -= 1
                self._advance(index)
            else:
                index = self.step_calls.pop(fut)
                slot = self.slots[index]
                if not set(slot.step_calls) & self.step_calls.keys():
                    self._end_step(index)

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
            pending = slot.job.offer(
                message.clip,
                message.frames,
                message.shot_cuts,
                message.audio,
                message.text_frames,
                cuts_before=message.cuts_before,
                pictures=message.pictures,
            )
            if pending is not None:
                fut = self.pool.submit(self._analyse, slot.job, pending)
                self.clip_calls[fut] = (message.job, pending)
                slot.in_flight += 1
        else:
            slot = self.slots.get(message.job)
            if slot is not None:
                slot.job.end_media(
                    message.cuts, message.clips_planned, message.error, message.audio_error
                )
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
            self.senses,
        )
        try:
            job.begin(info)
        except VideoIdxError as exc:
            self._fail(index, str(exc))
            return
        self.slots[index] = _Slot(job)

    def _analyse(self, job: VideoJob, pending: PendingClip) -> ClipAnalysis:
        """One clip's model call, on a call thread."""
        if job.cancel.is_set():  # queued before the cancel, started after it: send nothing
            raise CancelledError(f"clip {pending.clip.index} was cancelled before it was sent")
        return self.calls.analyse(job, pending)

    def _fail(self, index: int, error: str) -> None:
        path = self.paths[index]
        log.info("%s: failed: %s", path, error)
        if self.progress is not None:
            self.progress(
                Progress(
                    video_id="", title=path.stem, stage=Stage.FAILED, message=error, path=str(path)
                )
            )
        self._settle(
            index,
            VideoResult(path=str(path), title=path.stem, status=RunStatus.FAILED, error=error),
        )

    def _settle(self, index: int, result: VideoResult) -> None:
        self.results[index] = result
        if self.on_result is not None:
            self.on_result(result)

    # -- the end of one video ----------------------------------------------------------------

    def _advance(self, index: int) -> None:
        """Once the video's media is over and no clip is in flight, run its per-video steps one
        after another (``steps.VIDEO_STEPS``), then finish it."""
        slot = self.slots[index]
        if not slot.media_done or slot.in_flight or slot.step is not None:
            return
        job = slot.job
        while slot.next_step < len(VIDEO_STEPS):
            step = VIDEO_STEPS[slot.next_step]
            slot.next_step += 1
            if job.stopping or not step.wanted(job):
                continue
            job.tracker.update(stage=step.stage)
            work = step.start(job, self.calls)
            if not work.calls:
                work.write([])
                continue
            slot.step = work
            slot.step_calls = [self.pool.submit(call) for call in work.calls]
            for fut in slot.step_calls:
                self.step_calls[fut] = index
            return
        self._finish(index)

    def _end_step(self, index: int) -> None:
        """Every call of the video's running step has ended: write its answers, go on."""
        slot = self.slots[index]
        assert slot.step is not None
        work, done = slot.step, slot.step_calls
        slot.step, slot.step_calls = None, []
        work.write(done)
        self._advance(index)

    def _finish(self, index: int) -> None:
        self._settle(index, self.slots.pop(index).job.finish())

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
                    status=first.status if first else RunStatus.FAILED,
                    error=f"same content as {self.paths[self.duplicates[index]]}: indexed once",
                )
                self._settle(index, result)
            elif result is None:
                # Never started: the batch was cancelled or stopped by a fatal error first.
                fatal = self.limits.fatal
                result = VideoResult(
                    path=str(path),
                    title=path.stem,
                    status=RunStatus.CANCELLED if fatal is None else RunStatus.FAILED,
                    error="" if fatal is None else f"not started: {fatal}",
                )
                self._settle(index, result)
            out.append(result)
        return out
