"""The work the engine does for each clip and each video: the one place a new step is added.

The engine (``pipeline.batch``) schedules; this module says what is done:

* **Per clip**: :func:`analyse_clip`, the indexer's look at one clip (cutting its MP4 first when
  the indexer takes video). Every engine runs exactly this function for every clip, on the
  batch's call threads or as a Ray task, under the batch's one concurrency limit, and the
  writer stores its :class:`~videoidx.types.ClipAnalysis` (``VideoJob.record``). Before the
  indexer, the clip's speech is transcribed from its audio and its on-screen text read from its
  frames (``pipeline.senses``); the indexer sees both in its ``ClipInput`` and they are stored
  with the clip. A new per-clip step that needs the clip (embeddings of its frames) goes in
  here too, so every engine runs it and the clip is stored once, with everything.
* **Per video**: :data:`VIDEO_STEPS`, run in order once a video's clips are all stored and
  nothing stopped the batch. Each is a :class:`VideoStep`: it reads the store on the writer
  thread, hands its model calls to the batch (they share the batch's concurrency limit and run
  wherever the engine runs calls), then writes their answers on the writer thread. Today the
  one step is :class:`Consolidate` (characters across clips, cross-clip causal links); a new
  one (embeddings of the video's events, say) is a class here, an entry in
  :data:`VIDEO_STEPS` and a member of :class:`~videoidx.pipeline.progress.Stage`.

Nothing here touches a thread pool or decides what runs when.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from indexers import Indexer
from videoidx.errors import CancelledError, VideoIdxError
from videoidx.media.cut import cut_clip
from videoidx.pipeline.consolidate import (
    CancellableText,
    TextModel,
    ask_groups,
    ask_links,
    read_consolidation_input,
    write_consolidation,
)
from videoidx.pipeline.job import PendingClip, VideoJob
from videoidx.pipeline.progress import Stage
from videoidx.pipeline.senses import ClipSenses
from videoidx.settings import Settings
from videoidx.types import ClipAnalysis, ClipInput, Usage
from videoidx.vocab import RunStatus

log = logging.getLogger(__name__)

T = TypeVar("T")


# -- per clip --------------------------------------------------------------------------------


def analyse_clip(
    indexer: Indexer,
    settings: Settings,
    clip_input: ClipInput,
    tmp: Path | None,
    cancel: threading.Event | None = None,
    *,
    senses: ClipSenses | None = None,
    audio: np.ndarray | None = None,
) -> ClipAnalysis:
    """Transcribe the clip's ``audio`` and read its on-screen text (``senses``, when given),
    then call the indexer on the clip with both, first cutting the clip's MP4 into ``tmp``
    when it takes one. The analysis carries the speech and text, to be stored with the clip.

    Touches no store, so it runs on any thread, process or Ray worker. Setting ``cancel`` stops
    the indexer's request in flight (CancelledError).
    """
    if audio is not None and indexer.takes_audio:
        clip_input = replace(clip_input, audio=audio)
    if senses is None:
        return _analyse(indexer, settings, clip_input, tmp, cancel)
    clip_input = senses.sense(clip_input, audio, cancel)
    analysis = _analyse(indexer, settings, clip_input, tmp, cancel)
    if senses.transcriber is not None:
        analysis.speech = list(clip_input.speech)
        analysis.speech_engine = senses.transcriber.name
        analysis.speech_model = senses.transcriber.model_id
    if senses.reader is not None:
        analysis.screen_text = list(clip_input.screen_text or ())
        analysis.text_engine = senses.reader.name
    return analysis


def _analyse(
    indexer: Indexer,
    settings: Settings,
    clip_input: ClipInput,
    tmp: Path | None,
    cancel: threading.Event | None,
) -> ClipAnalysis:
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


# -- per video -------------------------------------------------------------------------------


class ModelCalls(Protocol):
    """Where the indexer runs (this process, Ray tasks). Called on the batch's call threads."""

    def analyse(self, job: VideoJob, pending: PendingClip) -> ClipAnalysis: ...

    def text_model(self, indexer: Indexer) -> TextModel | None: ...


@dataclass
class StepWork:
    """A per-video step under way: model calls for the batch, then one write with their answers."""

    write: Callable[[list[Future[Any]]], None]
    """Runs on the writer thread once every call has ended, with their futures in order."""
    calls: list[Callable[[], Any]] = field(default_factory=list)
    """Run on the batch's call threads, under its concurrency limit; they never touch the store."""


class VideoStep(Protocol):
    """Work done once per video after its clips are stored (see the module docstring)."""

    stage: Stage
    """What the video's progress shows while the step runs."""

    def wanted(self, job: VideoJob) -> bool:
        """Whether this video needs the step now (the engine never starts one once the batch is
        stopping)."""
        ...

    def start(self, job: VideoJob, calls: ModelCalls) -> StepWork:
        """Read what the step needs (writer thread) and say which model calls to make."""
        ...


class Consolidate:
    """Characters across clips and cross-clip causal links (``pipeline.consolidate``).

    Its two model calls (grouping, links) are independent, so they run at the same time when
    the batch's limit allows: with a slow provider the pass costs one round trip, not two.
    """

    stage = Stage.CONSOLIDATE

    def wanted(self, job: VideoJob) -> bool:
        r = job.result
        if r.clips_done == 0:
            return False
        # Every clip came from the cache right after a finished run: the store holds exactly
        # that run's clips and its consolidation, so asking again would pay for the same answer.
        fully_cached = r.clips_cached == r.clips_done and not (r.clips_failed or r.clips_skipped)
        return not (fully_cached and job.previous_run_status() == RunStatus.DONE)

    def start(self, job: VideoJob, calls: ModelCalls) -> StepWork:
        assert job.info is not None, "a video is consolidated after its clips"
        store = job.store
        data = read_consolidation_input(store, job.info, job.indexer)
        model = calls.text_model(job.indexer)
        if model is None:
            return StepWork(write=lambda _done: write_consolidation(store, data, None, None))
        model = CancellableText(model, job.cancel)
        group_usage, link_usage = Usage(), Usage()

        def write(done: list[Future[Any]]) -> None:
            grouped, linked = done
            job.result.usage.add(group_usage)
            job.result.usage.add(link_usage)
            write_consolidation(store, data, _outcome(grouped, None), _outcome(linked, []))

        return StepWork(
            write=write,
            calls=[
                partial(ask_groups, data, model, group_usage),
                partial(ask_links, data, model, link_usage),
            ],
        )


VIDEO_STEPS: tuple[VideoStep, ...] = (Consolidate(),)
"""The per-video steps, in the order they run."""


def _outcome(fut: Future[T], fallback: T) -> T:
    """A model call's answer; a crash there costs the step's model answer, not the video."""
    exc = fut.exception()
    if exc is None:
        return fut.result()
    log.warning("a per-video model call failed, using the fallback", exc_info=exc)
    return fallback
