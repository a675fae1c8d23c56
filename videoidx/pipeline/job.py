"""One video's run as steps on the writer thread: what the engine (``pipeline.batch``) drives.

:class:`VideoJob` holds one video's state in a batch: its run row, its cache lookups, its share
of the batch's cost cap, how each clip's outcome is stored, and its final status. It never
schedules anything: the engine decides what runs when and where (threads, processes, Ray), and
calls these steps on its single writer thread, so DuckDB keeps one writer.

Failures: a clip that fails (retries exhausted, content filtered, unreadable reply) is stored as
failed with its reason and the run goes on; the next run retries it. So is a clip whose answer
could only be partly read (cut off at the token limit) after one more try with more room: its
few events are not the clip's, and a clip stored as done is never asked again. Errors that no
further clip can survive (bad key, arrears, daily limit) stop the batch early, after storing
what finished. Cancelling (the ``cancel`` event) stops requests in flight too; their clips are
left unstored, for the next run.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexers import Indexer
from videoidx.errors import (
    AuthError,
    BudgetExceededError,
    CancelledError,
    ProviderError,
    QuotaError,
    VideoIdxError,
)
from videoidx.media.plan import plan_clips
from videoidx.pipeline.cache import clip_cache_key
from videoidx.pipeline.progress import ProgressCallback, ProgressTracker, Stage
from videoidx.pipeline.senses import ClipSenses
from videoidx.settings import Settings
from videoidx.store import Store
from videoidx.types import (
    ClipAnalysis,
    ClipInput,
    ClipPictures,
    ClipSpec,
    Frame,
    ShotCut,
    Usage,
    VideoInfo,
)
from videoidx.vocab import ClipStatus, RunStatus

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
    status: RunStatus = RunStatus.PENDING
    """``done``, ``partial`` (some clips failed or were skipped), ``failed``, ``cancelled`` or
    ``stopped`` (the cost cap was reached); ``pending`` until the run ends."""
    clips_total: int = 0
    clips_analysed: int = 0
    clips_cached: int = 0
    clips_failed: int = 0
    clips_skipped: int = 0
    events: int = 0
    usage: Usage = field(default_factory=Usage)
    error: str = ""
    clip_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the run could not read but did not fail for: speech or on-screen text engines that
    are unavailable, audio that could not be decoded (the pictures were indexed)."""

    @property
    def clips_done(self) -> int:
        return self.clips_analysed + self.clips_cached


@dataclass
class RunLimits:
    """What the videos of one batch share: the cost cap's reservations and a fatal provider
    error. One per batch, so ``max_cost_usd`` caps the whole batch and a bad key stops every
    video instead of failing one clip per video."""

    reserved_cost_usd: float = 0.0
    fatal: ProviderError | None = None


@dataclass
class PendingClip:
    """A clip handed to the indexer: what it sees, and what the writer needs to store it."""

    clip: ClipSpec
    cache_key: str
    clip_input: ClipInput
    audio: np.ndarray | None = None
    """The clip's sound for the transcriber (16 kHz mono from the clip's start), if any."""


class VideoJob:
    """One video's run, as steps that the engine (``pipeline.batch``) drives.

    Every step writes the store, so only the writer thread calls them: :meth:`begin` once the
    video is probed, :meth:`offer` for each sampled clip (None when the clip needs no call:
    cached, over budget or stopping); the engine has the indexer analyse the clip on any
    thread (``steps.analyse_clip``, in :attr:`clip_dir`), then :meth:`record` stores its
    outcome; :meth:`end_media` when sampling is over, then the engine's per-video steps
    (``steps.VIDEO_STEPS``), then :meth:`finish`.
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
        senses: ClipSenses | None = None,
    ) -> None:
        self.path = path
        self.senses = senses or ClipSenses()
        self.settings = settings
        self.store = store
        self.indexer = indexer
        self.cancel = cancel or threading.Event()
        self.limits = limits or RunLimits()
        self.result = VideoResult(path=str(path), title=path.stem, notes=list(self.senses.notes))
        self.progress = progress
        self.tracker = ProgressTracker("", path.stem, progress, str(path))
        self.info: VideoInfo | None = None
        self.seen = 0
        self._identity = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # -- the steps ---------------------------------------------------------------------------

    def begin(self, info: VideoInfo) -> None:
        """Record the probed video and open its run."""
        self.info = info
        r = self.result
        r.video_id, r.title, r.duration_s = info.video_id, info.title, info.duration_s
        r.notes.extend(self.senses.video_notes(info))
        self.tracker = ProgressTracker(info.video_id, info.title, self.progress, str(self.path))
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
        senses = self.senses.cache_identity()
        if senses:  # speech and text are stored with the clip: their engines are in its key
            self._identity += f"|{senses}"
        if self.indexer.takes_video_url and self.settings.provider.send_video:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"videoidx-{info.video_id}-")
        self.tracker.update(stage=Stage.ANALYZE, clips_total=r.clips_total)

    def offer(
        self,
        clip: ClipSpec,
        frames: Sequence[Frame],
        shot_cuts: Sequence[ShotCut],
        audio: np.ndarray | None = None,
        text_frames: Sequence[Frame] = (),
        *,
        cuts_before: int | None = None,
        pictures: ClipPictures | None = None,
    ) -> PendingClip | None:
        """A sampled clip: None when the cache has it or it must be skipped, else the clip to
        hand to the indexer."""
        assert self.info is not None, "begin() first"
        self.seen += 1
        if self.seen > self.tracker.current.clips_total:
            self.tracker.update(clips_total=self.seen)
        key = clip_cache_key(clip, self._identity, self.settings.media)
        if self._use_cache(key):
            return None
        if self.stopping or not self._reserve_budget(frames, clip):
            self.result.clips_skipped += 1
            return None
        clip_input = ClipInput(
            video=self.info,
            clip=clip,
            frames=tuple(frames),
            shot_cuts=tuple(shot_cuts),
            cuts_before=cuts_before,
            text_frames=tuple(text_frames),
            pictures=pictures,
        )
        return PendingClip(clip, key, clip_input, audio)

    @property
    def clip_dir(self) -> Path | None:
        """Where clip files are cut for an indexer that takes video (None: it takes frames)."""
        return Path(self._tmp.name) if self._tmp is not None else None

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
            status=ClipStatus.FAILED,
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

    def end_media(
        self, cuts: Sequence[ShotCut], clips_planned: int, error: str = "", audio_error: str = ""
    ) -> None:
        """Sampling is over: store the shot cuts and the final clip count; note (once) why the
        audio could not be read, if so."""
        assert self.info is not None, "begin() first"
        if audio_error:
            self.result.notes.append(audio_error)
            log.warning("%s: %s", self.path.name, audio_error)
        if error and not self.result.error:
            self.result.error = error
            log.warning("%s: %s", self.path.name, error)
        self.store.write_shots(self.info.video_id, cuts)
        self.result.clips_total = clips_planned or self.seen
        self.tracker.update(clips_total=self.result.clips_total)

    def previous_run_status(self) -> RunStatus | None:
        """How the video's run before this one ended, or None when this is its first."""
        assert self.info is not None
        return self.store.previous_run_status(self.info.video_id, self._run_id)

    def finish(self) -> VideoResult:
        """Close the run with its final status and return the result."""
        r = self.result
        if self.limits.fatal is not None and not r.error:
            r.error = str(self.limits.fatal)
        self._finish(self._final_status(), r.error)
        return r

    def abort(self) -> None:
        """Close the run as failed because the process is being interrupted."""
        self._finish(RunStatus.FAILED, "interrupted")

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

    @property
    def stopping(self) -> bool:
        """Cancelled, or the batch met an error no clip can survive: start nothing more."""
        return self.cancel.is_set() or self.limits.fatal is not None

    @property
    def _run_id(self) -> str:
        assert self.result.run_id is not None
        return self.result.run_id

    def _final_status(self) -> RunStatus:
        r = self.result
        if self.limits.fatal is not None:
            return RunStatus.FAILED
        if self.cancel.is_set():
            return RunStatus.CANCELLED
        if r.clips_skipped and self.settings.pipeline.max_cost_usd is not None:
            return RunStatus.STOPPED
        if r.clips_failed or r.clips_skipped or r.error:
            return RunStatus.PARTIAL if r.clips_done else RunStatus.FAILED
        return RunStatus.DONE

    def _finish(self, status: RunStatus, error: str) -> None:
        r = self.result
        r.status = status
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if r.run_id is not None:
            self.store.finish_run(r.run_id, status=status, usage=r.usage, error=error or None)
        # A partial run is over too: its progress ends ``done``; the result says ``partial``.
        self.tracker.update(
            stage=Stage.DONE if status == RunStatus.PARTIAL else Stage(status), message=error
        )


def _where(clip: ClipSpec) -> str:
    return f"clip {clip.index} ({clip.start_s:.1f}-{clip.end_s:.1f} s)"


def _describe(exc: BaseException, clip: ClipSpec) -> str:
    where = _where(clip)
    if isinstance(exc, VideoIdxError):
        return f"{where}: {exc}"
    return f"{where}: unexpected {type(exc).__name__}: {exc}"
