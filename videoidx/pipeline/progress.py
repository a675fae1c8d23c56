"""One progress type, rendered by the CLI (a bar), the notebook (tqdm) and the web page.

The pipeline calls a :data:`ProgressCallback` after every stage change and every finished clip.
Callbacks run on the pipeline's writer thread, so they must be quick; a slow UI should copy the
value and return. In a batch, one callback hears every video: :attr:`Progress.path` tells them
apart from the first event on (``video_id`` is known only once the file is probed).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TextIO

from videoidx.times import clock
from videoidx.wording import count, of_total


class Stage(StrEnum):
    """The stages a video's progress goes through, exactly the ones the engine emits.

    A video starts in ``analyze`` once probed (its clips are sampled and sent as they come),
    moves to one stage per per-video step (``consolidate``; see ``pipeline.steps``) and ends in
    one of :data:`TERMINAL_STAGES`. A video whose file cannot be read goes straight to
    ``failed``. A new per-video step adds its stage here. Members are strings, so
    ``p.stage == "done"`` keeps working for callers that compare with plain text.
    """

    ANALYZE = "analyze"
    CONSOLIDATE = "consolidate"
    DONE = "done"
    """Finished; also when some clips failed (the run's status then says ``partial``)."""
    FAILED = "failed"
    CANCELLED = "cancelled"
    STOPPED = "stopped"
    """The cost cap was reached before every clip was sent."""


TERMINAL_STAGES = frozenset({Stage.DONE, Stage.FAILED, Stage.CANCELLED, Stage.STOPPED})
"""The stages after which a video's progress changes no more."""


@dataclass(frozen=True, slots=True)
class Progress:
    """Where one video's indexing stands."""

    video_id: str
    title: str
    stage: Stage
    clips_total: int = 0
    clips_done: int = 0
    """Clips finished in this run or found in the cache (failed ones are counted separately)."""
    clips_cached: int = 0
    clips_failed: int = 0
    events: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""
    path: str = ""
    """The video file as the caller named it: one key per video of a batch, even before the
    file is probed."""

    @property
    def fraction(self) -> float:
        """Share of clips finished (done, cached or failed), 0 to 1."""
        if self.clips_total == 0:
            return 1.0 if self.stage == Stage.DONE else 0.0
        return min(1.0, (self.clips_done + self.clips_failed) / self.clips_total)


ProgressCallback = Callable[[Progress], None]


class ProgressTracker:
    """Builds successive :class:`Progress` values and estimates the time left.

    The ETA counts only clips analysed in this run: cached clips finish instantly and would make
    the estimate wildly optimistic.
    """

    def __init__(
        self, video_id: str, title: str, callback: ProgressCallback | None, path: str = ""
    ) -> None:
        self._callback = callback
        self._started = time.monotonic()
        self._analysed = 0
        self.current = Progress(video_id=video_id, title=title, stage=Stage.ANALYZE, path=path)

    def update(
        self,
        *,
        stage: Stage | None = None,
        clips_total: int | None = None,
        message: str | None = None,
    ) -> Progress:
        p = self.current
        self.current = replace(
            p,
            stage=p.stage if stage is None else stage,
            clips_total=p.clips_total if clips_total is None else clips_total,
            message=p.message if message is None else message,
            elapsed_s=time.monotonic() - self._started,
        )
        self._emit()
        return self.current

    def clip_finished(
        self, *, cached: bool, failed: bool, events: int, tokens: int, cost_usd: float
    ) -> Progress:
        p = self.current
        if not cached:
            self._analysed += 1
        elapsed = time.monotonic() - self._started
        done = p.clips_done + (0 if failed else 1)
        failed_n = p.clips_failed + (1 if failed else 0)
        left = max(0, p.clips_total - done - failed_n)
        eta = elapsed / self._analysed * left if self._analysed else None
        self.current = replace(
            p,
            clips_done=done,
            clips_cached=p.clips_cached + (1 if cached else 0),
            clips_failed=failed_n,
            events=p.events + events,
            tokens=p.tokens + tokens,
            cost_usd=p.cost_usd + cost_usd,
            elapsed_s=elapsed,
            eta_s=eta,
        )
        self._emit()
        return self.current

    def _emit(self) -> None:
        if self._callback is not None:
            self._callback(self.current)


def _eta_text(seconds: float | None) -> str:
    return "-:--" if seconds is None else clock(seconds)


class TerminalBar:
    """A one-line progress bar for the CLI; redraws in place on a terminal, logs lines otherwise."""

    def __init__(self, stream: TextIO | None = None, width: int = 24) -> None:
        self._stream = stream or sys.stderr
        self._width = width
        self._tty = self._stream.isatty()
        self._last_line = ""
        self._last_key: tuple[str, int] | None = None

    def __call__(self, p: Progress) -> None:
        finished = p.clips_done + p.clips_failed
        filled = int(self._width * p.fraction)
        bar = "#" * filled + "-" * (self._width - filled)
        line = (
            f"{p.title[:28]:<28} [{bar}] {of_total(finished, p.clips_total, 'clip')}"
            f" {count(p.events, 'event')} {p.tokens} tok ${p.cost_usd:.4f}"
            f" eta {_eta_text(p.eta_s)} {p.stage}"
        )
        if p.clips_failed:
            line += f" ({p.clips_failed} failed)"
        if self._tty:
            end = "\n" if p.stage in TERMINAL_STAGES else ""
            self._stream.write("\r" + line.ljust(len(self._last_line)) + end)
        elif (p.stage, finished) != self._last_key:
            # Off a terminal (logs, CI), one line per stage or clip, not one per redraw.
            self._stream.write(line + "\n")
        self._last_key = (p.stage, finished)
        self._stream.flush()
        self._last_line = line
