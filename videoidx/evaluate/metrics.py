"""Moment-retrieval scores: IoU of time windows, R1@IoU, mean IoU, recall@k, a blind baseline.

For one query with true windows ``W`` and ranked hits ``h1, h2, ...``:

- the top hit's IoU is ``max(iou(h1, w) for w in W)`` (0 with no hit): a query with several true
  moments is answered by finding any of them, as QVHighlights scores it;
- R1@IoU t: the share of queries whose top hit's IoU is at least ``t``;
- mean IoU: the mean of the top hits' IoU;
- recall@k (at IoU 0.5): the share of queries with a true window overlapped at IoU >= 0.5 by
  any of the first ``k`` hits.

The query-blind baseline answers every query with one window: the file's most typical true
window, the one with the highest summed IoU against all the others (the medoid: where and how
long moments in this file usually are). A search mode that cannot beat it is not reading the
queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Window = tuple[float, float]

R1_THRESHOLDS = (0.5, 0.7)
RECALL_K = 5
RECALL_IOU = 0.5


def iou(a: Window, b: Window) -> float:
    """Intersection over union of two time windows; two equal instants count as 1."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    if union <= 0:
        return 1.0 if a == b else 0.0
    return inter / union


def best_iou(hit: Window, truth: Sequence[Window]) -> float:
    """How well one hit matches the closest of the true windows."""
    return max((iou(hit, w) for w in truth), default=0.0)


@dataclass(frozen=True, slots=True)
class Scores:
    """The scores of one search mode (or the baseline) over ``queries`` queries."""

    queries: int
    r1_iou_05: float
    r1_iou_07: float
    mean_iou: float
    recall_at_5: float


def score(ranked: Sequence[Sequence[Window]], truths: Sequence[Sequence[Window]]) -> Scores:
    """Scores for queries whose hits are ``ranked[i]`` (best first) and truths ``truths[i]``."""
    if len(ranked) != len(truths):
        raise ValueError("one ranked list of hits per query is needed")
    n = len(truths)
    if n == 0:
        return Scores(0, 0.0, 0.0, 0.0, 0.0)
    top = [
        best_iou(hits[0], truth) if hits else 0.0
        for hits, truth in zip(ranked, truths, strict=True)
    ]
    found = [
        any(best_iou(h, truth) >= RECALL_IOU for h in hits[:RECALL_K])
        for hits, truth in zip(ranked, truths, strict=True)
    ]
    lo, hi = R1_THRESHOLDS
    return Scores(
        queries=n,
        r1_iou_05=sum(x >= lo for x in top) / n,
        r1_iou_07=sum(x >= hi for x in top) / n,
        mean_iou=sum(top) / n,
        recall_at_5=sum(found) / n,
    )


def typical_window(truths: Sequence[Sequence[Window]]) -> Window:
    """The true window most like all the others, repeats counted (highest summed IoU; the
    earliest on a tie). Vectorised: a Charades-STA test file has thousands of windows."""
    every = np.asarray([w for truth in truths for w in truth], dtype=np.float64).reshape(-1, 2)
    if not len(every):
        raise ValueError("no true windows to take a baseline from")
    candidates = np.unique(every, axis=0)  # sorted by start, then end
    total = np.zeros(len(candidates))
    for lo in range(0, len(candidates), 512):  # bounded memory: 512 x n at a time
        c = candidates[lo : lo + 512, None, :]
        inter = np.clip(
            np.minimum(c[..., 1], every[None, :, 1]) - np.maximum(c[..., 0], every[None, :, 0]),
            0.0,
            None,
        )
        union = (c[..., 1] - c[..., 0]) + (every[None, :, 1] - every[None, :, 0]) - inter
        same = (c[..., 0] == every[None, :, 0]) & (c[..., 1] == every[None, :, 1])
        ratio = np.where(union > 0, inter / np.where(union > 0, union, 1.0), same.astype(float))
        total[lo : lo + 512] = ratio.sum(axis=1)
    best = int(np.argmax(total))  # the first maximum: the earliest window on a tie
    return float(candidates[best, 0]), float(candidates[best, 1])


def baseline(truths: Sequence[Sequence[Window]]) -> tuple[Window, Scores]:
    """The query-blind baseline's window and its scores (the same window for every query)."""
    window = typical_window(truths)
    return window, score([[window]] * len(truths), truths)
