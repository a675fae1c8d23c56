"""Background indexing for the serving process: a queue of batches run by a few worker threads.

One queue serves the web page and the HTTP API (``videoidx.service.api``): one concurrency limit,
one cost cap per batch, and every batch visible to both, whoever submitted it.

Indexing must not tie up a page event: a page that waits on a 40-minute job cannot search, and a
closed tab would lose it. So a batch is queued here and runs on a worker thread of the server
process, writing through the page's own :class:`~videoidx.Store` (DuckDB allows one writing
process; the page reads through cursors of the same store, which never wait for the writer).
The page polls :meth:`JobQueue.snapshot` to draw progress; an API client long-polls
:meth:`JobQueue.wait_for_change` (every change bumps :attr:`JobQueue.version`).

A batch (the files of one Start press, or one re-index) runs as ONE batch of the indexing engine
(:func:`videoidx.index_many`), exactly as ``videoidx index`` runs its files: one concurrency
limit and one cost cap for the whole batch, its videos' media work in parallel, duplicates
indexed once. Each video still has its own :class:`Job` (its card), kept current from the
engine's per-video progress events and results.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import videoidx
from videoidx import Progress, Settings, Store, VideoIdxError, VideoResult
from videoidx.vocab import RunStatus

log = logging.getLogger(__name__)


class JobStatus(StrEnum):
    """Where one job (one video of a page batch) stands: waiting for its batch, running, then
    its run's final status (:data:`videoidx.vocab.FINAL_RUN_STATUSES`). The card's CSS class is
    ``vx-status-<value>``."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = RunStatus.DONE.value
    PARTIAL = RunStatus.PARTIAL.value
    FAILED = RunStatus.FAILED.value
    CANCELLED = RunStatus.CANCELLED.value
    STOPPED = RunStatus.STOPPED.value


ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


@dataclass
class Job:
    """One video of a batch, as the page shows it (its card)."""

    job_id: str
    batch_id: str
    path: Path
    title: str
    settings: Settings
    progress_callback: Callable[[Progress], None] | None = field(default=None, repr=False)
    """An extra listener (the demo's terminal bar) besides the page."""
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    """The batch's cancel event, shared by all its jobs: the batch is one engine run."""
    status: JobStatus = JobStatus.QUEUED
    """``queued``, ``running``, then the run's status: ``done``, ``partial``, ``failed``,
    ``cancelled`` or ``stopped`` (cost cap)."""
    progress: Progress | None = None
    result: VideoResult | None = None
    error: str = ""
    submitted_at: float = field(default_factory=time.time)
    source: str = "page"
    """Who queued it: ``page``, ``api`` (a program, the CLI or the notebook, naming files on
    the server's disk) or ``upload`` (a program naming files it uploaded)."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass
class _Batch:
    """The jobs of one :meth:`JobQueue.submit`, run as one engine batch."""

    jobs: list[Job]
    settings: Settings
    cancel: threading.Event
    progress: Callable[[Progress], None] | None

    def job_for(self, path: str) -> Job | None:
        """The job a progress event or result of ``path`` belongs to: the first of that path
        still without a result (the same file twice in a batch is indexed once, first)."""
        same = [j for j in self.jobs if str(j.path) == path]
        return next((j for j in same if j.result is None), same[0] if same else None)


class JobQueue:
    """Runs each submitted batch through :func:`videoidx.index_many`, ``workers`` batches at a
    time; each batch has one concurrency limit and one cost cap, from its settings."""

    def __init__(
        self,
        store: Store,
        *,
        workers: int = 1,
        on_finished: Callable[[Job], None] | None = None,
    ) -> None:
        self.store = store
        self.workers = max(1, workers)
        self.on_finished = on_finished
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Batch | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition(self._lock)
        self._open_batches = 0
        """Batches queued or running, their after-indexing hooks included."""
        self._changed = threading.Condition(self._lock)
        self.version = 0
        """Bumped by every change of any job, so a follower can wait for the next one."""

    def submit(
        self,
        paths: Sequence[Path],
        settings: Settings,
        *,
        progress: Callable[[Progress], None] | None = None,
        source: str = "page",
    ) -> list[Job]:
        """Queue the files as one batch; returns its jobs in the order given."""
        batch_id = uuid.uuid4().hex[:12]
        cancel = threading.Event()
        now = time.time()  # one time for the batch: snapshots keep its jobs in order
        jobs = [
            Job(
                uuid.uuid4().hex[:12],
                batch_id,
                Path(p),
                Path(p).stem,
                settings,
                progress,
                cancel=cancel,
                submitted_at=now,
                source=source,
            )
            for p in paths
        ]
        with self._lock:
            # A re-index replaces the finished card of the same file instead of adding one.
            again = {str(j.path) for j in jobs}
            for old_id in [
                i for i, j in self._jobs.items() if not j.active and str(j.path) in again
            ]:
                del self._jobs[old_id]
            for job in jobs:
                self._jobs[job.job_id] = job
            self._open_batches += 1
            self._bump()
            self._start_workers()
        self._queue.put(_Batch(jobs, settings, cancel, progress))
        return jobs

    def cancel(self, job_ids: Sequence[str]) -> int:
        """Stop the batches these jobs belong to (a batch is one engine run): queued ones never
        start, running ones stop after the clips in flight. Returns how many videos stop."""
        with self._lock:
            batches = {
                j.batch_id for i in job_ids if (j := self._jobs.get(i)) is not None and j.active
            }
            stopping = [j for j in self._jobs.values() if j.batch_id in batches and j.active]
            for job in stopping:
                job.cancel.set()
            self._bump()
        return len(stopping)

    def snapshot(self) -> list[Job]:
        """Copies of every job, newest batch first, safe to read while workers run."""
        with self._lock:
            jobs = [replace(j) for j in self._jobs.values()]
        return sorted(jobs, key=lambda j: -j.submitted_at)

    def batch(self, batch_id: str) -> list[Job]:
        """Copies of one batch's jobs in the order submitted; empty for an unknown batch."""
        with self._lock:
            return [replace(j) for j in self._jobs.values() if j.batch_id == batch_id]

    def wait_for_change(self, since: int, timeout_s: float) -> int:
        """Block until :attr:`version` differs from ``since`` (or the timeout); returns it."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._changed:
            while self.version == since:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self.version

    def forget(self, job_ids: Sequence[str]) -> int:
        """Drop finished jobs (their cards); active ones stay. Returns how many were dropped."""
        with self._lock:
            gone = [i for i in job_ids if (j := self._jobs.get(i)) is not None and not j.active]
            for i in gone:
                del self._jobs[i]
            if gone:
                self._bump()
        return len(gone)

    def forget_finished(self) -> int:
        """Drop every finished job (the Index tab's "Clear finished")."""
        with self._lock:
            ids = [i for i, j in self._jobs.items() if not j.active]
        return self.forget(ids)

    def forget_video(self, video_id: str) -> int:
        """Drop the finished cards of a video that left the library (deleted)."""
        with self._lock:
            ids = [i for i, j in self._jobs.items() if not j.active and _video_of(j) == video_id]
        return self.forget(ids)

    def busy(self) -> bool:
        with self._lock:
            return any(j.active for j in self._jobs.values())

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until no batch is queued or running; False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._idle:
            while self._open_batches:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Cancel everything and wait for the workers to store what finished."""
        with self._lock:
            for job in self._jobs.values():
                if job.active:
                    job.cancel.set()
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        for t in threads:
            t.join(timeout_s)

    # -- the workers -------------------------------------------------------------------------

    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            t = threading.Thread(
                target=self._work, name=f"videoidx-ui-index-{len(self._threads)}", daemon=True
            )
            self._threads.append(t)
            t.start()

    def _work(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            try:
                self._run(batch)
                # After the batch, not inside it: a hook (the player's copy) must not hold up
                # the engine's writer thread while other videos of the batch wait to be stored.
                for job in batch.jobs:
                    self._after(job)
            finally:
                with self._idle:
                    self._open_batches -= 1
                    self._idle.notify_all()

    def _run(self, batch: _Batch) -> None:
        if batch.cancel.is_set():
            for job in batch.jobs:
                self._set(job, status=JobStatus.CANCELLED)
            return

        def on_progress(p: Progress) -> None:
            job = batch.job_for(p.path)
            if job is not None:
                status = JobStatus.RUNNING if job.status == JobStatus.QUEUED else job.status
                self._set(job, progress=p, title=p.title or job.title, status=status)
            if batch.progress is not None:
                batch.progress(p)

        def on_result(r: VideoResult) -> None:
            job = batch.job_for(r.path)
            if job is not None:
                self._settle(job, r)

        try:
            results = videoidx.index_many(
                [j.path for j in batch.jobs],
                settings=batch.settings,
                store=self.store,
                progress=on_progress,
                cancel=batch.cancel,
                on_result=on_result,
            )
        except VideoIdxError as exc:
            self._fail_unsettled(batch, str(exc))
        except Exception as exc:  # a bug must fail this batch, not kill the worker thread
            log.warning("indexing a batch failed unexpectedly", exc_info=exc)
            self._fail_unsettled(batch, f"unexpected {type(exc).__name__}: {exc}")
        else:
            for job, result in zip(batch.jobs, results, strict=True):
                if job.result is None:
                    self._settle(job, result)

    def _settle(self, job: Job, result: VideoResult) -> None:
        self._set(job, status=JobStatus(result.status), result=result, error=result.error)
        with self._idle:
            self._idle.notify_all()

    def _fail_unsettled(self, batch: _Batch, error: str) -> None:
        for job in batch.jobs:
            if job.result is None:
                self._set(job, status=JobStatus.FAILED, error=error)

    def _set(self, job: Job, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
            self._bump()

    def _bump(self) -> None:
        """Count a change and wake the followers (call holding ``_lock``)."""
        self.version += 1
        self._changed.notify_all()

    def _after(self, job: Job) -> None:
        if self.on_finished is not None:
            try:
                self.on_finished(job)
            except Exception as exc:
                log.warning("after-indexing hook failed for %s", job.path.name, exc_info=exc)


def _video_of(job: Job) -> str:
    if job.result is not None and job.result.video_id:
        return job.result.video_id
    return job.progress.video_id if job.progress is not None else ""
