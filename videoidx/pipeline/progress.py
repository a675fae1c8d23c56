"""One progress type, rendered by the CLI (a bar), the notebook (tqdm) and the web page.

The pipeline calls a :data:`ProgressCallback` after every stage change and every finished clip.
Callbacks run on the pipeline's writer thread, so they must be quick; a slow UI should copy the
value and return.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TextIO

from videoidx.times import clock
from videoidx.wording import count, of_total


@dataclass(frozen=True, slots=True)
class Progress:
    """Where one video's indexing stands."""

    video_id: str
    title: str
    stage: str
    """``probe``, ``shots``, ``plan``, ``analyze``, ``consolidate``, ``done``, ``failed``,
    ``cancelled`` or ``stopped`` (budget reached)."""
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

    @property
    def fraction(self) -> float:
        """Share of clips finished (done, cached or failed), 0 to 1."""
        if self.clips_total == 0:
            return 1.0 if self.stage == "done" else 0.0
        return min(1.0, (self.clips_done + self.clips_failed) / self.clips_total)


ProgressCallback = Callable[[Progress], None]


class ProgressTracker:
    """Builds successive :class:`Progress` values and estimates the time left.

    The ETA counts only clips analysed in this run: cached clips finish instantly and would make
    the estimate wildly optimistic.
    """

    def __init__(self, video_id: str, title: str, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._started = time.monotonic()
        self._analysed = 0
        self.current = Progress(video_id=video_id, title=title, stage="probe")

    def update(self, **changes: object) -> Progress:
        now = time.monotonic() - self._started
        self.current = replace(self.current, elapsed_s=now, **changes)  # type: ignore[arg-type]
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


TERMINAL_STAGES = frozenset({"done", "failed", "cancelled", "stopped"})
