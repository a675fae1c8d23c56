"""Run a moment-retrieval file against an indexed library: :func:`evaluate`.

Each query's video name is matched to a library video by, in order, its ``video_id``, its title,
or its file's stem (``talk`` for ``/videos/talk.mp4``), exactly first and then ignoring case.
Names that match nothing, or more than one video, are reported with their query counts and left
out of the scores; they never stop the run.

Every query runs as ``search(store, query, mode=m, embedder=..., video_ids=[video], limit=5)``
for each mode asked for; ``mode="all"`` tries every search mode and reports the ones this store
cannot run (say, semantic without an embedder) as skipped, with the reason the search gave. The
embedder is the one searches use (``query_embedder(settings)``, as ``videoidx eval`` passes it):
without it the semantic modes can never run, however many vectors the store holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from videoidx.errors import ConfigError, DatasetError
from videoidx.evaluate.datasets import MomentQuery, read_moments
from videoidx.evaluate.metrics import RECALL_K, Scores, Window, baseline, best_iou, score
from videoidx.store import Store, VideoSummary, search
from videoidx.store.search import MODES
from videoidx.store.vectors import QueryEmbedder

ALL_MODES = "all"


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One query under one mode: its true windows, the top hits and the top hit's IoU."""

    mode: str
    video_id: str
    query: str
    line: int
    truth: tuple[Window, ...]
    hits: tuple[Window, ...]
    hit_kinds: tuple[str, ...]
    top_iou: float


@dataclass
class EvalReport:
    """What :func:`evaluate` measured; ``modes`` maps each mode that ran to its scores."""

    path: str
    queries: int
    evaluated: int
    videos: int
    modes: dict[str, Scores] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    baseline: Scores | None = None
    baseline_window: Window | None = None
    unknown: dict[str, int] = field(default_factory=dict)
    ambiguous: dict[str, int] = field(default_factory=dict)
    results: list[QueryResult] = field(default_factory=list)

    def as_dict(self, per_query: bool = False) -> dict[str, object]:
        """A JSON-ready view (``per_query`` adds every query's hits)."""
        out: dict[str, object] = {
            "path": self.path,
            "queries": self.queries,
            "evaluated": self.evaluated,
            "videos": self.videos,
            "modes": {m: _scores_dict(s) for m, s in self.modes.items()},
            "skipped": dict(self.skipped),
            "baseline": _scores_dict(self.baseline) if self.baseline else None,
            "baseline_window": list(self.baseline_window) if self.baseline_window else None,
            "unknown_videos": dict(self.unknown),
            "ambiguous_videos": dict(self.ambiguous),
        }
        if per_query:
            out["per_query"] = [
                {
                    "mode": r.mode,
                    "video_id": r.video_id,
                    "query": r.query,
                    "line": r.line,
                    "truth": [list(w) for w in r.truth],
                    "hits": [list(h) for h in r.hits],
                    "hit_kinds": list(r.hit_kinds),
                    "top_iou": r.top_iou,
                }
                for r in self.results
            ]
        return out


def _scores_dict(s: Scores) -> dict[str, float | int]:
    return {
        "queries": s.queries,
        "r1_iou_0.5": s.r1_iou_05,
        "r1_iou_0.7": s.r1_iou_07,
        "mean_iou": s.mean_iou,
        "recall_at_5": s.recall_at_5,
    }


def match_videos(
    names: Sequence[str], videos: Sequence[VideoSummary]
) -> tuple[dict[str, str], set[str], set[str]]:
    """Map each name to a video id: ``(found, unknown names, ambiguous names)``."""
    keys: list[tuple[str, str, str]] = [  # (video_id, title, file stem)
        (v.video_id, v.title or "", Path(v.path).stem if v.path else "") for v in videos
    ]
    found: dict[str, str] = {}
    unknown: set[str] = set()
    ambiguous: set[str] = set()
    for name in dict.fromkeys(names):
        ids = _lookup(name, keys)
        if len(ids) == 1:
            found[name] = ids[0]
        elif ids:
            ambiguous.add(name)
        else:
            unknown.add(name)
    return found, unknown, ambiguous


def _lookup(name: str, keys: Sequence[tuple[str, str, str]]) -> list[str]:
    for field_n in range(3):  # id, then title, then stem; exact before case-folded
        for same in (lambda a, b: a == b, lambda a, b: a.casefold() == b.casefold()):
            ids = sorted({k[0] for k in keys if k[field_n] and same(k[field_n], name)})
            if ids:
                return ids
    return []


def modes_for(mode: str) -> tuple[str, ...]:
    """The search modes that ``mode`` (one of :data:`MODES` or ``all``) stands for."""
    if mode == ALL_MODES:
        return MODES
    if mode not in MODES:
        raise ConfigError(f"unknown search mode {mode!r}; choose all or {', '.join(MODES)}")
    return (mode,)


def evaluate(
    store: Store,
    path: str | Path,
    *,
    mode: str = ALL_MODES,
    fmt: str = "auto",
    embedder: QueryEmbedder | None = None,
) -> EvalReport:
    """Score the library's search on the moment-retrieval file at ``path`` (see the module
    docstring). A mode named alone that the store cannot run raises its ConfigError; under
    ``all`` it is reported in :attr:`EvalReport.skipped`."""
    asked = modes_for(mode)
    queries = read_moments(path, fmt)
    found, unknown, ambiguous = match_videos([q.video for q in queries], store.list_videos())
    counts = Counter(q.video for q in queries)
    usable = [q for q in queries if q.video in found]
    report = EvalReport(
        path=str(path),
        queries=len(queries),
        evaluated=len(usable),
        videos=len({found[q.video] for q in usable}),
        unknown={n: counts[n] for n in sorted(unknown)},
        ambiguous={n: counts[n] for n in sorted(ambiguous)},
    )
    if not usable:
        names = ", ".join(sorted(unknown | ambiguous)[:5])
        raise DatasetError(
            f"none of the videos named in {path} is in the library ({names}, ...): index them "
            "first, or name them by video id, title or file name"
        )
    truths = [q.windows for q in usable]
    report.baseline_window, report.baseline = baseline(truths)
    for m in asked:
        try:
            results = [_run(store, q, found[q.video], m, embedder) for q in usable]
        except ConfigError as exc:
            if mode != ALL_MODES:
                raise
            report.skipped[m] = str(exc)
            continue
        report.modes[m] = score([r.hits for r in results], truths)
        report.results += results
    return report


def _run(
    store: Store, q: MomentQuery, video_id: str, mode: str, embedder: QueryEmbedder | None
) -> QueryResult:
    hits = search(
        store, q.query, mode=mode, embedder=embedder, video_ids=[video_id], limit=RECALL_K
    )
    windows = tuple((h.start_s, h.end_s) for h in hits)
    top = best_iou(windows[0], q.windows) if windows else 0.0
    return QueryResult(
        mode, video_id, q.query, q.line, q.windows, windows, tuple(h.kind for h in hits), top
    )
