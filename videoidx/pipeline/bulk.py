"""``index_many``: index a folder, a glob or a list of videos, with media work in parallel.

The batch runs on the one indexing engine (``pipeline.batch``), as ``index_video`` and the web
page's jobs do. Engines (``engine=``), which only say where the media work and model calls run:

* ``local`` with one worker: media work on the calling thread, one video after another, as
  ``index_video`` does it (no process to start: the CLI's single file stays quick);
* ``local`` with ``workers`` > 1: each worker **process** (spawned, so it shares no threads or
  DuckDB handle with the parent) probes and samples whole videos and ships their clips back
  through one bounded queue; the parent calls the indexer and writes;
* ``ray``: the same with Ray tasks on a cluster (``pipeline.ray_engine``, imported only then).

In all of them the calling process is the store's only writer, all videos share one
concurrency limit and one cost cap, and every clip is stored as it finishes, so a killed batch
resumes where it stopped and a re-run costs nothing (see ``pipeline.batch``).
"""

from __future__ import annotations

import contextlib
import glob
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from videoidx.errors import VideoNotFoundError
from videoidx.pipeline.batch import Batch, MediaSource, ResultCallback, run_batch
from videoidx.pipeline.job import VideoResult
from videoidx.pipeline.media_worker import (
    MediaEnded,
    MediaMessage,
    Probed,
    ProbeFailed,
    Started,
    lost_video,
    process_worker,
    scan_messages,
)
from videoidx.pipeline.progress import ProgressCallback
from videoidx.settings import MediaSettings, Settings, resolve_settings
from videoidx.store import Store
from videoidx.vocab import Engine, RunStatus

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts"}
    | {".mts", ".m2ts", ".3gp", ".ogv"}
)
"""What a folder or a glob expands to (case-insensitive); name other files one by one."""


def index_many(
    paths_or_glob: str | Path | Sequence[str | Path],
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
    engine: Engine | None = None,
    ray_address: str | None = None,
    on_result: ResultCallback | None = None,
) -> list[VideoResult]:
    """Index several videos into one store; one bad file never stops the rest.

    ``paths_or_glob`` is a path, a folder (its video files), a glob such as ``"talks/*.mp4"``
    or ``"archive/**/*.mkv"``, or a list of those; an existing path is never read as a glob
    (``"talk [1080p].mp4"`` is that file). Returns one result per video, in order; a video
    that cannot be read, and a folder or glob without videos, is reported ``failed`` with the
    reason while the rest go on. Raises :class:`VideoNotFoundError` when nothing at all names
    a video. ``workers``, ``engine`` and ``ray_address`` default to the settings of the same
    names (see ``PipelineSettings``). ``store`` is opened from ``settings.db_path`` (and
    closed) when not given; when a running ``videoidx serve`` holds that file, the batch is
    submitted to it and followed instead (its indexer and engine index; see
    ``videoidx.routing``). ``on_result`` hears each video's result as soon as that video is
    settled, before the batch ends (the web page's cards use it).
    """
    settings = settings or resolve_settings()
    settings = settings.replace(
        **{
            k: v
            for k, v in {"workers": workers, "engine": engine, "ray_address": ray_address}.items()
            if v is not None
        }
    )
    if store is None:
        from videoidx.routing import served_client

        client = served_client(settings.db_path)
        if client is not None:  # a running server holds the file: it indexes, we follow
            with client:
                return client.index_many(
                    paths_or_glob,
                    progress=progress,
                    cancel=cancel,
                    on_result=on_result,
                    clip_seconds=settings.media.clip_target_s,
                    max_cost_usd=settings.pipeline.max_cost_usd,
                )
    entries = expand_inputs(paths_or_glob)
    paths = videos_of(entries)  # raises when nothing at all can be indexed
    if not paths:
        return []
    results = run_batch(
        paths,
        settings,
        _start_engine,
        store=store,
        progress=progress,
        cancel=cancel,
        on_result=on_result,
    )
    return _in_argument_order(entries, results)


def _in_argument_order(
    entries: Sequence[Path | Unmatched], results: Sequence[VideoResult]
) -> list[VideoResult]:
    """The batch's results with each folder or glob that matched nothing reported in its place."""
    videos = iter(results)
    return [e.result() if isinstance(e, Unmatched) else next(videos) for e in entries]


def _start_engine(batch: Batch) -> MediaSource:
    """Start the media work where ``settings.pipeline`` says, and point the batch's model calls
    there too."""
    p, paths, media = batch.settings.pipeline, batch.paths, batch.settings.media
    audio = batch.wants_audio
    if p.engine == "ray":
        from videoidx.pipeline import ray_engine

        ray_engine.connect(p.ray_address)
        batch.calls = ray_engine.RayCalls(batch.settings, batch.indexer)
        workers = p.workers or ray_engine.cluster_cpus(len(paths))
        return ray_engine.RaySource(paths, media, workers, with_audio=audio)
    workers = p.workers or min(os.cpu_count() or 1, len(paths))
    if workers > 1:
        return ProcessSource(paths, media, workers, with_audio=audio)
    return InProcessSource(paths, media, batch.cancel, with_audio=audio)


@dataclass(frozen=True)
class Unmatched:
    """An argument (a folder, or a glob) that named no video file: reported, not fatal."""

    item: str
    reason: str

    def result(self) -> VideoResult:
        """How the batch reports it: a failed entry among the videos, in argument order."""
        return VideoResult(
            path=self.item, title=self.item, status=RunStatus.FAILED, error=self.reason
        )


def expand_inputs(paths_or_glob: str | Path | Sequence[str | Path]) -> list[Path | Unmatched]:
    """Each argument as video files, in order: an existing path is a path (a folder gives its
    video files, not its subfolders'; a file stays itself, whatever characters its name has);
    only a string naming nothing is a glob when it has ``*``, ``?`` or ``[`` (``**`` recurses).
    A folder or a glob without video files is an :class:`Unmatched`; a missing plain path
    stays as given, so the run reports it with the others instead of it vanishing."""
    items = [paths_or_glob] if isinstance(paths_or_glob, str | Path) else list(paths_or_glob)
    out: list[Path | Unmatched] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = list(path.iterdir())
            where = f"the folder {item}"
        elif path.exists() or not isinstance(item, str) or not any(ch in item for ch in "*?["):
            out.append(path)
            continue
        else:
            found = [Path(m) for m in glob.glob(os.path.expanduser(item), recursive=True)]
            where = f"the pattern {item!r}"
        videos = sorted(p for p in found if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        if not videos:
            out.append(Unmatched(str(item), _no_videos(where)))
        out += videos
    return out


def _no_videos(where: str) -> str:
    return (
        f"no video files in {where} (looked for {', '.join(sorted(VIDEO_SUFFIXES))}); "
        "check the path, or name the files one by one"
    )


def expand_videos(paths_or_glob: str | Path | Sequence[str | Path]) -> list[Path]:
    """The video files named (see :func:`expand_inputs`), sorted within each folder or glob.

    Raises :class:`VideoNotFoundError` when the arguments name no video at all and some folder
    or glob matched nothing; a folder or glob without videos next to other videos is skipped.
    """
    return videos_of(expand_inputs(paths_or_glob))


def videos_of(entries: Sequence[Path | Unmatched]) -> list[Path]:
    """The paths among ``entries``; raises when there is none and something matched nothing."""
    paths = [e for e in entries if isinstance(e, Path)]
    unmatched = [e for e in entries if isinstance(e, Unmatched)]
    if not paths and unmatched:
        more = f" (and {len(unmatched) - 1} more argument(s) without videos)"
        raise VideoNotFoundError(unmatched[0].reason + (more if len(unmatched) > 1 else ""))
    return paths


class InProcessSource:
    """Media work on the writer's own thread, one video after another: for one worker.

    With ``raise_probe_errors`` a file that cannot be read at all raises its error instead of
    being reported among the results (``index_video``'s contract).
    """

    def __init__(
        self,
        paths: Sequence[Path],
        media: MediaSettings,
        cancel: threading.Event,
        *,
        raise_probe_errors: bool = False,
        with_audio: bool = False,
    ) -> None:
        self._messages = self._all(paths, media, cancel, raise_probe_errors, with_audio)
        self._exhausted = False

    @staticmethod
    def _all(
        paths: Sequence[Path],
        media: MediaSettings,
        cancel: threading.Event,
        raise_probe: bool,
        with_audio: bool,
    ) -> Generator[MediaMessage, None, None]:
        for job, path in enumerate(paths):
            yield from scan_messages(
                job,
                str(path),
                media,
                cancel.is_set,
                raise_probe_errors=raise_probe,
                with_audio=with_audio,
            )

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def next(self, timeout_s: float) -> MediaMessage | None:
        try:
            return next(self._messages)
        except StopIteration:
            self._exhausted = True
            return None

    def stop(self) -> None:
        self._messages.close()  # closes the scan, which stops its ffmpeg


class ProcessSource:
    """Media work in ``workers`` spawned processes, clips shipped back through one bounded queue.

    A worker that dies (a decoder crash, the OOM killer) costs only the video it was reading:
    that video is reported with the reason, the others go on in the remaining workers.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        media: MediaSettings,
        workers: int,
        *,
        with_audio: bool = False,
    ) -> None:
        # spawn, not fork: the parent holds threads (HTTP clients, the UI) and a DuckDB handle.
        ctx = multiprocessing.get_context("spawn")
        self._jobs: multiprocessing.Queue[tuple[int, str] | None] = ctx.Queue()
        for job, path in enumerate(paths):
            self._jobs.put((job, str(path)))
        for _ in range(workers):
            self._jobs.put(None)
        # Two clips per worker may wait: enough to keep the writer busy, little enough memory.
        self._out: multiprocessing.Queue[MediaMessage | Started] = ctx.Queue(maxsize=2 * workers)
        self._stop = ctx.Event()
        self._open = set(range(len(paths)))
        self._worker_of: dict[int, int] = {}
        self._probed: set[int] = set()
        self._stopped = False
        self._procs = [
            ctx.Process(
                target=process_worker,
                args=(w, self._jobs, self._out, self._stop, media, with_audio),
                name=f"videoidx-media-{w}",
                daemon=True,
            )
            for w in range(workers)
        ]
        for proc in self._procs:
            proc.start()

    @property
    def exhausted(self) -> bool:
        return not self._open

    def next(self, timeout_s: float) -> MediaMessage | None:
        try:
            item = self._out.get(timeout=timeout_s)
        except queue.Empty:
            return self._lost_video()
        if isinstance(item, Started):
            self._worker_of[item.job] = item.worker
            return None
        if item.job not in self._open:
            return None  # its worker was already given up for dead
        if isinstance(item, Probed):
            self._probed.add(item.job)
        elif isinstance(item, MediaEnded | ProbeFailed):
            self._open.discard(item.job)
            self._worker_of.pop(item.job, None)
        return item

    def _lost_video(self) -> MediaMessage | None:
        """With the queue empty: end a video whose worker died, or, when no worker is left,
        the videos nobody will read."""
        for job, worker in self._worker_of.items():
            code = self._procs[worker].exitcode
            if code not in (None, 0):
                why = f"the media worker reading it died (exit code {code}); run again to retry"
                return self._give_up(job, why)
        if self._open and not any(p.is_alive() for p in self._procs):
            return self._give_up(min(self._open), "no media worker was left to read it")
        return None

    def _give_up(self, job: int, why: str) -> MediaMessage:
        self._open.discard(job)
        self._worker_of.pop(job, None)
        return lost_video(job, job in self._probed, why)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        # Workers see ``stop`` between clips or while waiting to put; drain so none blocks.
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and any(p.is_alive() for p in self._procs):
            with contextlib.suppress(queue.Empty):
                self._out.get(timeout=0.05)
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()  # mid-decode: its ffmpeg ends when its pipe closes
            proc.join(timeout=2)
        for q in (self._jobs, self._out):
            q.cancel_join_thread()  # unread items must not hold up this process's exit
            q.close()
