"""The ``ray`` engine of ``index_many``: media work and model calls as Ray tasks on a cluster.

* **Media**: one Ray *generator* task per video (``num_cpus=1``, at most ``workers`` at once)
  runs ``media_worker.scan_messages`` and streams its messages back; Ray's generator
  backpressure keeps at most a couple of unread clips per video, so frames never pile up.
* **Model calls**: each clip analysis and per-video step call (consolidation's text calls) is
  a Ray task (``num_cpus=0``: the work is waiting on a provider, and CPU-holding media tasks
  must never starve them). The batch's threads submit them and wait, so the batch's one
  concurrency limit holds across the whole cluster.
* **Writes** stay in the calling process (``pipeline.batch``): results stream back to the single
  DuckDB writer, and cache keys are the same as in local runs, so a Ray run resumes a local one
  and the other way round.

Every node must see the videos at the same paths (a shared filesystem) and have videoidx
installed. The indexer's API key goes to the workers as a task argument (never through the
environment of the job or the dashboard). Imported only when ``engine="ray"``.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexers import Indexer, create_indexer
from videoidx.errors import ConfigError
from videoidx.pipeline.consolidate import TextModel, text_model_of
from videoidx.pipeline.job import PendingClip, VideoJob
from videoidx.pipeline.media_worker import (
    MediaEnded,
    MediaMessage,
    Probed,
    ProbeFailed,
    lost_video,
    scan_messages,
)
from videoidx.pipeline.senses import ClipSenses, open_senses
from videoidx.pipeline.steps import analyse_clip
from videoidx.settings import MediaSettings, Settings
from videoidx.types import ClipAnalysis, ClipInput, Usage

try:
    import ray
    from ray.exceptions import RayError, RayTaskError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ConfigError(
        "engine 'ray' needs Ray, which is not installed: pip install 'videoidx[ray]' "
        "(or use engine='local')"
    ) from exc

BACKPRESSURE_CLIPS = 2
"""Messages a media task may produce ahead of the writer before it waits."""


def connect(address: str | None) -> None:
    """Join the Ray cluster at ``address`` (``auto``, ``ray://head:10001``) or start a local
    one; a session the caller already opened is used as it is and left open."""
    if not ray.is_initialized():
        ray.init(address=address)


def cluster_cpus(videos: int) -> int:
    """Default media tasks at once: one per CPU of the cluster, at most one per video."""
    return max(1, min(videos, int(ray.cluster_resources().get("CPU", 1))))


# -- tasks -----------------------------------------------------------------------------------


@ray.remote(num_cpus=1)
def _scan_task(
    job: int, path: str, media: MediaSettings, with_audio: bool = False
) -> Iterator[MediaMessage]:
    yield from scan_messages(job, path, media, with_audio=with_audio)


_INDEXERS: dict[Settings, Indexer] = {}


def _indexer(settings: Settings, env: dict[str, str]) -> Indexer:
    """This worker's indexer for ``settings``, built once and kept for later tasks."""
    indexer = _INDEXERS.get(settings)
    if indexer is None:
        # The driver's key, for this worker process only: indexers read keys from the
        # environment when they make a request.
        os.environ.update(env)
        indexer = _INDEXERS[settings] = create_indexer(settings)
    return indexer


_SENSES: dict[Settings, ClipSenses] = {}


def _senses(settings: Settings) -> ClipSenses:
    """This worker's speech and text engines for ``settings``, opened once (the driver said
    already what is unavailable). Their one-clip-at-a-time lock is per worker process."""
    senses = _SENSES.get(settings)
    if senses is None:
        senses = _SENSES[settings] = open_senses(settings)
    return senses


@ray.remote(num_cpus=0)
def _analyse_task(
    settings: Settings,
    env: dict[str, str],
    clip_input: ClipInput,
    audio: np.ndarray | None = None,
    sensing: bool = False,
) -> ClipAnalysis:
    indexer = _indexer(settings, env)
    senses = _senses(settings) if sensing else None
    return analyse_clip(indexer, settings, clip_input, None, senses=senses, audio=audio)


@ray.remote(num_cpus=0)
def _text_task(
    settings: Settings, env: dict[str, str], messages: list[dict[str, Any]], thinking: bool
) -> tuple[str, Usage]:
    model = text_model_of(_indexer(settings, env))
    assert model is not None, "the driver only sends text calls for indexers that take them"
    return model.complete_text(messages, thinking=thinking)


def _get(ref: Any) -> Any:
    """``ray.get``, raising the task's own exception (a ProviderError stays a ProviderError,
    so a bad key still stops the batch and a failed clip keeps its reason)."""
    try:
        return ray.get(ref)
    except RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from exc
        raise


# -- the engine's two halves -----------------------------------------------------------------


class RayCalls:
    """Model calls as Ray tasks; the batch's threads wait on them, which bounds how many run."""

    def __init__(self, settings: Settings, indexer: Indexer) -> None:
        self._settings = settings
        self._env = ray.put(indexer.worker_env())
        self._text = _RayText(settings, self._env) if text_model_of(indexer) else None

    def analyse(self, job: VideoJob, pending: PendingClip) -> ClipAnalysis:
        sensing = job.senses.transcriber is not None or job.senses.reader is not None
        result: ClipAnalysis = _get(
            _analyse_task.remote(
                self._settings, self._env, pending.clip_input, pending.audio, sensing
            )
        )
        return result

    def text_model(self, indexer: Indexer) -> TextModel | None:
        return self._text


class _RayText:
    def __init__(self, settings: Settings, env: Any) -> None:
        self._settings = settings
        self._env = env

    def complete_text(
        self,
        messages: list[dict[str, Any]],
        *,
        thinking: bool = False,
        cancel: threading.Event | None = None,
    ) -> tuple[str, Usage]:
        # ``cancel`` lives in this process; a Ray task cannot watch it, so it is not passed.
        result: tuple[str, Usage] = _get(
            _text_task.remote(self._settings, self._env, messages, thinking)
        )
        return result


class RaySource:
    """One generator task per video, ``workers`` at a time, read as their messages arrive."""

    def __init__(
        self,
        paths: Sequence[Path],
        media: MediaSettings,
        workers: int,
        *,
        with_audio: bool = False,
    ) -> None:
        self._media = media
        self._with_audio = with_audio
        self._workers = workers
        self._waiting = deque((job, str(path)) for job, path in enumerate(paths))
        self._running: dict[Any, int] = {}
        self._probed: set[int] = set()
        self._fill()

    def _fill(self) -> None:
        while self._waiting and len(self._running) < self._workers:
            job, path = self._waiting.popleft()
            task = _scan_task.options(_generator_backpressure_num_objects=BACKPRESSURE_CLIPS)
            self._running[task.remote(job, path, self._media, self._with_audio)] = job  # type: ignore[call-arg]  # ray types by arity

    @property
    def exhausted(self) -> bool:
        return not self._running and not self._waiting

    def next(self, timeout_s: float) -> MediaMessage | None:
        if not self._running:
            return None
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout_s)
        if not ready:
            return None
        gen: Any = ready[0]  # an ObjectRefGenerator: ray.wait's type does not say so
        job = self._running[gen]
        message: MediaMessage
        try:
            message = ray.get(next(gen))
        except StopIteration:
            message = lost_video(job, job in self._probed, "its media task ended early")
        except RayError as exc:  # the worker or node died, or the task raised
            first_line = (str(exc).strip().splitlines() or [""])[0]
            why = f"its media task failed ({type(exc).__name__}): {first_line}"
            message = lost_video(job, job in self._probed, why)
        if isinstance(message, Probed):
            self._probed.add(job)
        elif isinstance(message, MediaEnded | ProbeFailed):
            del self._running[gen]
            self._fill()
        return message

    def stop(self) -> None:
        for gen in self._running:
            ray.cancel(gen)
        self._running.clear()
        self._waiting.clear()
