"""Background indexing for the web page: a queue of video jobs run by a few worker threads.

Indexing must not tie up a page event: a page that waits on a 40-minute job cannot search, and a
closed tab would lose it. So a job is queued here and runs on a worker thread of the server
process, writing through the page's own :class:`~videoidx.Store` (DuckDB allows one writing
process; the page reads through cursors of the same store, which never wait for the writer).
The page polls :meth:`JobQueue.snapshot` to draw progress.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import videoidx
from videoidx import Progress, Settings, Store, VideoIdxError, VideoResult

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")


@dataclass
class Job:
    """One video's indexing job as the page shows it."""

    job_id: str
    batch_id: str
    path: Path
    title: str
    settings: Settings
    progress_callback: Callable[[Progress], None] | None = field(default=None, repr=False)
    """An extra listener (the demo's terminal bar) besides the page."""
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    status: str = "queued"
    """``queued``, ``running``, then the run's status: ``done``, ``partial``, ``failed``,
    ``cancelled`` or ``stopped`` (cost cap)."""
    progress: Progress | None = None
    result: VideoResult | None = None
    error: str = ""
    submitted_at: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class JobQueue:
    """Runs submitted videos through :func:`videoidx.index_video`, ``workers`` at a time."""

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
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition(self._lock)

    def submit(
        self,
        paths: Sequence[Path],
        settings: Settings,
        *,
        progress: Callable[[Progress], None] | None = None,
    ) -> list[Job]:
        """Queue each file; returns the jobs (one batch) in the order given."""
        batch_id = uuid.uuid4().hex[:12]
        jobs = [
            Job(uuid.uuid4().hex[:12], batch_id, Path(p), Path(p).stem, settings, progress)
            for p in paths
        ]
        with self._lock:
            for job in jobs:
                self._jobs[job.job_id] = job
            self._start_workers()
        for job in jobs:
            self._queue.put(job)
        return jobs

    def cancel(self, job_ids: Sequence[str]) -> int:
        """Ask jobs to stop; queued ones never start, running ones stop after clips in flight."""
        n = 0
        with self._lock:
            for job_id in job_ids:
                job = self._jobs.get(job_id)
                if job is not None and job.active:
                    job.cancel.set()
                    n += 1
        return n

    def snapshot(self) -> list[Job]:
        """Copies of every job, newest batch first, safe to read while workers run."""
        with self._lock:
            jobs = [replace(j) for j in self._jobs.values()]
        return sorted(jobs, key=lambda j: -j.submitted_at)

    def busy(self) -> bool:
        with self._lock:
            return any(j.active for j in self._jobs.values())

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until no job is queued or running; False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._idle:
            while any(j.active for j in self._jobs.values()):
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
            job = self._queue.get()
            if job is None:
                return
            self._run(job)

    def _run(self, job: Job) -> None:
        if job.cancel.is_set():
            self._set(job, status="cancelled")
            self._finished(job)
            return
        self._set(job, status="running")

        def on_progress(p: Progress) -> None:
            self._set(job, progress=p, title=p.title or job.title)
            if job.progress_callback is not None:
                job.progress_callback(p)

        try:
            result = videoidx.index_video(
                job.path,
                settings=job.settings,
                store=self.store,
                progress=on_progress,
                cancel=job.cancel,
            )
        except VideoIdxError as exc:
            self._set(job, status="failed", error=str(exc))
        except Exception as exc:  # a bug must fail this job, not kill the worker thread
            log.warning("indexing %s failed unexpectedly", job.path.name, exc_info=exc)
            self._set(job, status="failed", error=f"unexpected {type(exc).__name__}: {exc}")
        else:
            self._set(job, status=result.status, result=result, error=result.error)
        self._finished(job)

    def _set(self, job: Job, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)

    def _finished(self, job: Job) -> None:
        if self.on_finished is not None:
            try:
                self.on_finished(job)
            except Exception as exc:
                log.warning("after-indexing hook failed for %s", job.path.name, exc_info=exc)
        with self._idle:
            self._idle.notify_all()
