"""Index one video: the clip loop with its concurrency, cache, budget and failure handling.

Threading model, chosen so DuckDB keeps its single writer and memory stays bounded:

* The calling thread is the **producer and the writer**. It iterates the lazy frame sampler (media
  work for clip n+1), hands each clip to a worker, and writes every finished clip to the store.
* A pool of ``concurrency`` **workers** only call the indexer (and cut a clip file when the indexer
  takes video input). They never touch the store.
* At most ``concurrency`` clips are in flight; the producer drains finished ones before sampling
  more, so at most ``concurrency + 1`` clips of frames exist at any moment, however long the video.

Failures: a clip that fails (retries exhausted, content filtered, unreadable reply) is stored as
failed with its reason and the run goes on; the next run retries it. So is a clip whose answer
could only be partly read (cut off at the token limit) after one more try with more room: its
few events are not the clip's, and a clip stored as done is never asked again. Errors that no
further clip can survive (bad key, arrears, daily limit) stop the run early, after storing what
finished. Cancelling (the ``cancel`` event) stops requests in flight too; their clips are left
unstored, for the next run.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexers import Indexer, create_indexer
from videoidx.errors import (
    AuthError,
    BudgetExceededError,
    CancelledError,
    MediaError,
    ProviderError,
    QuotaError,
    VideoIdxError,
)
from videoidx.media.cut import cut_clip
from videoidx.media.plan import plan_clips
from videoidx.media.probe import probe
from videoidx.media.scan import Scan
from videoidx.pipeline.cache import clip_cache_key
from videoidx.pipeline.consolidate import consolidate_video
from videoidx.pipeline.media_worker import damaged_media
from videoidx.pipeline.progress import ProgressCallback, ProgressTracker
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store
from videoidx.types import ClipAnalysis, ClipInput, ClipSpec, Frame, ShotCut, Usage, VideoInfo

log = logging.getLogger(__name__)

# Errors after which no later clip can succeed: stop starting clips instead of failing them all.
FATAL_PROVIDER_ERRORS = (AuthError, QuotaError)


@dataclass
class VideoResult:
    """The summary of one video's run, as the CLI, the notebook and the web page report it."""

    path: str
    video_id: str = ""
    title: str = ""
    duration_s: float = 0.0
    run_id: str | None = None
    status: str = "pending"
    """``done``, ``partial`` (some clips failed or were skipped), ``failed``, ``cancelled`` or
    ``stopped`` (the cost cap was reached)."""
    clips_total: int = 0
    clips_analysed: int = 0
    clips_cached: int = 0
    clips_failed: int = 0
    clips_skipped: int = 0
    events: int = 0
    usage: Usage = field(default_factory=Usage)
    error: str = ""
    clip_errors: list[str] = field(default_factory=list)

    @property
    def clips_done(self) -> int:
        return self.clips_analysed + self.clips_cached


@dataclass
class RunLimits:
    """What the videos of one run share: the cost cap's reservations and a fatal provider error.

    ``index_video`` gives each video its own; a batch shares one, so ``max_cost_usd`` caps the
    whole batch and a bad key stops every video instead of failing one clip per video.
    """

    reserved_cost_usd: float = 0.0
    fatal: ProviderError | None = None


@dataclass
class PendingClip:
    """A clip handed to the indexer: what it sees, and what the writer needs to store it."""

    clip: ClipSpec
    cache_key: str
    clip_input: ClipInput


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
    own_store = store is None
    own_indexer = indexer is None
    store = store or Store.open(settings.db_path)
    try:
        indexer = indexer or create_indexer(settings)
        try:
            indexer.check_ready()
            return VideoJob(Path(path), settings, store, indexer, progress, cancel).run()
        finally:
            if own_indexer:
                indexer.close()
    finally:
        if own_store:
            store.close()


def analyse_clip(
    indexer: Indexer,
    settings: Settings,
    clip_input: ClipInput,
    tmp: Path | None,
    cancel: threading.Event | None = None,
) -> ClipAnalysis:
    """Call the indexer on one clip, first cutting the clip's MP4 into ``tmp`` when it takes one.

    Touches no store, so it runs on any thread, process or Ray worker. Setting ``cancel`` stops
    the indexer's request in flight (CancelledError).
    """
    if indexer.takes_video_url and settings.provider.send_video:
        work = Path(tempfile.mkdtemp(prefix="videoidx-clip-")) if tmp is None else tmp
        out = work / f"{clip_input.video.video_id}_{clip_input.clip.index:05d}.mp4"
        cut = cut_clip(
            clip_input.video,
            clip_input.clip,
            out,
            mode="encode",
            ffmpeg_path=settings.media.ffmpeg_path,
        )
        try:
            return _analyse_whole(indexer, replace(clip_input, clip_path=cut.path), cancel)
        finally:
            if tmp is None:
                shutil.rmtree(work, ignore_errors=True)
    return _analyse_whole(indexer, clip_input, cancel)


def _analyse_whole(
    indexer: Indexer, clip_input: ClipInput, cancel: threading.Event | None
) -> ClipAnalysis:
    """The indexer's analysis; an answer it could only partly read gets one more try with more
    room (:meth:`Indexer.analyze_longer`). The result carries the cost of every answer paid
    for, and ``incomplete`` still set when the second try did not help either."""
    first = indexer.analyze(clip_input, cancel=cancel)
    if not first.incomplete:
        return first
    try:
        second = indexer.analyze_longer(clip_input, cancel=cancel)
    except CancelledError:
        raise
    except VideoIdxError as exc:
        first.usage.add(getattr(exc, "usage", None) or Usage())
        first.incomplete += f"; asking again failed: {exc}"
        return first
    if second is None:
        first.incomplete += "; this indexer has no way to ask for a longer answer"
        return first
    second.usage.add(first.usage)  # the cut-off answer was paid for too
    return second


class VideoJob:
    """One video's run, as steps that ``index_video`` drives from one thread and the batch
    engines (``pipeline.batch``) drive for many videos at once.

    Every step but :meth:`analyse` writes the store, so only the writer thread calls them:
    :meth:`begin` once the video is probed, :meth:`offer` for each sampled clip (None when the
    clip needs no call: cached, over budget or stopping), :meth:`analyse` on any thread,
    :meth:`record` with its outcome, :meth:`end_media` when sampling is over, then
    :meth:`finish` (after consolidation when :attr:`should_consolidate`).
    """

    def __init__(
        self,
        path: Path,
        settings: Settings,
        store: Store,
        indexer: Indexer,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        limits: RunLimits | None = None,
    ) -> None:
        self.path = path
        self.settings = settings
        self.store = store
        self.indexer = indexer
        self.cancel = cancel or threading.Event()
        self.limits = limits or RunLimits()
        self.result = VideoResult(path=str(path), title=path.stem)
        self.progress = progress
        self.tracker = ProgressTracker("", path.stem, progress)
        self.info: VideoInfo | None = None
        self.seen = 0
        self._identity = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # -- index_video: the steps in one thread -------------------------------------------------

    def run(self) -> VideoResult:
        info = probe(self.path, ffmpeg_path=self.settings.media.ffmpeg_path)
        self.begin(info)
        try:
            scan = Scan(info, self.settings.media)
            error = self._analyse(scan)
            self.end_media(scan.cuts, len(scan.clips), error)
            if self.should_consolidate:
                self.tracker.update(stage="consolidate")
                consolidate_video(
                    self.store, info, self.indexer, self.settings, self.result.usage, self.cancel
                )
        except BaseException:
            self.abort()
            raise
        return self.finish()

    def _analyse(self, scan: Scan) -> str:
        """Feed the scan's clips to the workers; store results as they finish. Returns why
        sampling stopped early, or ""."""
        limit = self.settings.pipeline.concurrency
        in_flight: dict[Future[ClipAnalysis], PendingClip] = {}
        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="videoidx-analyze") as pool:
            try:
                for clip, frames in scan:
                    if self.cancel.is_set():
                        break  # sampling the rest only to skip it would delay the stop
                    while len(in_flight) >= limit:
                        self._drain(in_flight, block=True)
                    self._drain(in_flight, block=False)
                    pending = self.offer(clip, frames, scan.cuts_in(clip))
                    if pending is not None:
                        in_flight[pool.submit(self.analyse, pending)] = pending
            except MediaError as exc:
                # The file broke part-way (truncated tail): keep what was analysed, say why.
                return damaged_media(exc)
            finally:
                if self._should_stop():
                    for fut in in_flight:
                        fut.cancel()
                while in_flight:
                    self._drain(in_flight, block=True)
        return ""

    def _drain(self, in_flight: dict[Future[ClipAnalysis], PendingClip], *, block: bool) -> None:
        if not in_flight:
            return
        done, _ = wait(list(in_flight), timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for fut in done:
            self.record_future(fut, in_flight.pop(fut))

    # -- the steps ---------------------------------------------------------------------------

    def begin(self, info: VideoInfo) -> None:
        """Record the probed video and open its run."""
        self.info = info
        r = self.result
        r.video_id, r.title, r.duration_s = info.video_id, info.title, info.duration_s
        self.tracker = ProgressTracker(info.video_id, info.title, self.progress)
        self.store.upsert_video(info)
        # The real plan snaps to shot cuts found during the one decode pass; until that pass
        # ends, the cut-less plan gives the progress bar an honest clip count.
        r.clips_total = len(plan_clips(info, [], self.settings.media))
        r.run_id = self.store.start_run(
            info.video_id,
            indexer=self.indexer.name,
            model=self.indexer.model_id,
            provider=self.settings.provider.provider if self.indexer.needs_network else "",
            prompt_version=self.indexer.prompt_version,
            settings=self.settings.flat(),
        )
        self._identity = self.indexer.cache_identity()
        if self.indexer.takes_video_url and self.settings.provider.send_video:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"videoidx-{info.video_id}-")
        self.tracker.update(stage="analyze", clips_total=r.clips_total)

    def offer(
        self, clip: ClipSpec, frames: Sequence[Frame], shot_cuts: Sequence[ShotCut]
    ) -> PendingClip | None:
        """A sampled clip: None when the cache has it or it must be skipped, else the clip to
        hand to :meth:`analyse`."""
        assert self.info is not None, "begin() first"
        self.seen += 1
        if self.seen > self.tracker.current.clips_total:
            self.tracker.update(clips_total=self.seen)
        key = clip_cache_key(clip, self._identity, self.settings.media)
        if self._use_cache(key):
            return None
        if self._should_stop() or not self._reserve_budget(frames, clip):
            self.result.clips_skipped += 1
            return None
        clip_input = ClipInput(
            video=self.info, clip=clip, frames=tuple(frames), shot_cuts=tuple(shot_cuts)
        )
        return PendingClip(clip, key, clip_input)

    def analyse(self, pending: PendingClip) -> ClipAnalysis:
        """Call the indexer; safe on any thread (it never touches the store)."""
        if self.cancel.is_set():  # queued before the cancel, started after it: send nothing
            raise CancelledError(f"clip {pending.clip.index} was cancelled before it was sent")
        tmp = Path(self._tmp.name) if self._tmp is not None else None
        return analyse_clip(self.indexer, self.settings, pending.clip_input, tmp, self.cancel)

    def record_future(self, fut: Future[ClipAnalysis], pending: PendingClip) -> None:
        if fut.cancelled():
            self.record(pending, None)
        else:
            self.record(pending, fut.exception() or fut.result())

    def record(self, pending: PendingClip, outcome: ClipAnalysis | BaseException | None) -> None:
        """Store a clip's analysis, or its failure; ``None`` means it was cancelled unsent."""
        r = self.result
        if outcome is None or isinstance(outcome, CancelledError):
            r.clips_skipped += 1
            return
        if isinstance(outcome, ClipAnalysis) and outcome.incomplete:
            self._record_incomplete(pending, outcome)
            return
        if isinstance(outcome, ClipAnalysis):
            self.store.write_clip(
                self._run_id,
                pending.clip,
                pending.cache_key,
                outcome,
                frames=pending.clip_input.frames,
            )
            r.clips_analysed += 1
            r.events += len(outcome.events)
            r.usage.add(outcome.usage)
            self.tracker.clip_finished(
                cached=False,
                failed=False,
                events=len(outcome.events),
                tokens=outcome.usage.prompt_tokens + outcome.usage.completion_tokens,
                cost_usd=outcome.usage.cost_usd,
            )
            return
        exc = outcome
        reason = _describe(exc, pending.clip)
        if isinstance(exc, FATAL_PROVIDER_ERRORS) and self.limits.fatal is None:
            self.limits.fatal = exc
            r.error = str(exc)
        if not isinstance(exc, VideoIdxError):
            # A bug or an unforeseen library error: fail this clip, keep the run, show the trace.
            log.warning("clip %d failed unexpectedly", pending.clip.index, exc_info=exc)
        raw = getattr(exc, "raw_reply", "") or ""
        # An unreadable answer was still paid for: its usage goes into the clip and the run.
        usage = getattr(exc, "usage", None) or Usage()
        self._record_failed(pending, ClipAnalysis(raw_reply=raw, usage=usage), reason)

    def _record_incomplete(self, pending: PendingClip, analysis: ClipAnalysis) -> None:
        """An answer that could only be partly read is a failed clip, not a short done one:
        stored as failed (raw reply, finish reason and cost kept, events not), so the next run
        sends it again, and the run ends ``partial`` (exit code 1 on the command line)."""
        reason = (
            f"{_where(pending.clip)}: {analysis.incomplete}; stored as failed, the next run "
            "sends it again (a larger max_tokens, or fewer frames with a smaller frame_budget, "
            "may be needed)"
        )
        self._record_failed(pending, analysis, reason)

    def _record_failed(self, pending: PendingClip, analysis: ClipAnalysis, reason: str) -> None:
        r = self.result
        self.store.write_clip(
            self._run_id,
            pending.clip,
            pending.cache_key,
            analysis,
            status="failed",
            error=reason,
        )
        r.clips_failed += 1
        r.clip_errors.append(reason)
        r.usage.add(analysis.usage)
        u = analysis.usage
        self.tracker.clip_finished(
            cached=False,
            failed=True,
            events=0,
            tokens=u.prompt_tokens + u.completion_tokens,
            cost_usd=u.cost_usd,
        )

    def end_media(self, cuts: Sequence[ShotCut], clips_planned: int, error: str = "") -> None:
        """Sampling is over: store the shot cuts and the final clip count."""
        assert self.info is not None, "begin() first"
        if error and not self.result.error:
            self.result.error = error
            log.warning("%s: %s", self.path.name, error)
        self.store.write_shots(self.info.video_id, cuts)
        self.result.clips_total = clips_planned or self.seen
        self.tracker.update(clips_total=self.result.clips_total)

    @property
    def should_consolidate(self) -> bool:
        """Whether the video earned a consolidation pass: clips done, nothing stopped it, and
        something new to consolidate."""
        r = self.result
        if self._should_stop() or r.clips_done == 0:
            return False
        # Every clip came from the cache right after a finished run: the store holds exactly
        # that run's clips and its consolidation, so asking again would pay for the same answer.
        fully_cached = r.clips_cached == r.clips_done and not (r.clips_failed or r.clips_skipped)
        return not (fully_cached and self._previous_run_status() == "done")

    def _previous_run_status(self) -> str | None:
        assert self.info is not None
        rows = self.store.sql(
            "SELECT status FROM index_runs WHERE video_id = ? AND run_id <> ? "
            "ORDER BY started_at DESC LIMIT 1",
            [self.info.video_id, self._run_id],
        )
        return str(rows[0][0]) if rows else None

    def finish(self) -> VideoResult:
        """Close the run with its final status and return the result."""
        r = self.result
        if self.limits.fatal is not None and not r.error:
            r.error = str(self.limits.fatal)
        self._finish(self._final_status(), r.error)
        return r

    def abort(self) -> None:
        """Close the run as failed because the process is being interrupted."""
        self._finish("failed", "interrupted")

    def _use_cache(self, key: str) -> bool:
        """Adopt a clip finished by an earlier run; True when it needs no analysis."""
        stored = self.store.cached_clip(key)
        if stored is None:
            return False
        self.store.adopt_clip(self._run_id, key)
        self.result.clips_cached += 1
        self.result.events += stored.event_count
        self.tracker.clip_finished(
            cached=True, failed=False, events=stored.event_count, tokens=0, cost_usd=0.0
        )
        return True

    # -- budget, stopping, bookkeeping -------------------------------------------------------

    def _reserve_budget(self, frames: Sequence[Frame], clip: ClipSpec) -> bool:
        """Reserve the clip's estimated cost; False when it would pass the cap."""
        cap = self.settings.pipeline.max_cost_usd
        if cap is None:
            return True
        estimate = self.indexer.estimate_usage(
            [(f.width_px, f.height_px) for f in frames], clip.duration_s
        ).cost_usd
        # Spent so far is exact for finished clips; in-flight clips count at their estimate.
        if self.limits.reserved_cost_usd + estimate > cap + 1e-12:
            if not self.result.error:
                self.result.error = str(
                    BudgetExceededError(
                        f"stopped before clip {clip.index}: its estimated ${estimate:.4f} would "
                        f"pass the --max-cost cap of ${cap:.4f}; raise the cap and run again to "
                        "finish the remaining clips (finished ones are kept)"
                    )
                )
            return False
        self.limits.reserved_cost_usd += estimate
        return True

    def _should_stop(self) -> bool:
        return self.cancel.is_set() or self.limits.fatal is not None

    @property
    def _run_id(self) -> str:
        assert self.result.run_id is not None
        return self.result.run_id

    def _final_status(self) -> str:
        r = self.result
        if self.limits.fatal is not None:
            return "failed"
        if self.cancel.is_set():
            return "cancelled"
        if r.clips_skipped and self.settings.pipeline.max_cost_usd is not None:
            return "stopped"
        if r.clips_failed or r.clips_skipped or r.error:
            return "partial" if r.clips_done else "failed"
        return "done"

    def _finish(self, status: str, error: str) -> None:
        r = self.result
        r.status = status
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if r.run_id is not None:
            self.store.finish_run(r.run_id, status=status, usage=r.usage, error=error or None)
        self.tracker.update(stage=status if status != "partial" else "done", message=error)


def _where(clip: ClipSpec) -> str:
    return f"clip {clip.index} ({clip.start_s:.1f}-{clip.end_s:.1f} s)"


def _describe(exc: BaseException, clip: ClipSpec) -> str:
    where = _where(clip)
    if isinstance(exc, VideoIdxError):
        return f"{where}: {exc}"
    return f"{where}: unexpected {type(exc).__name__}: {exc}"
