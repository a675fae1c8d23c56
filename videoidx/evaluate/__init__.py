"""Measure retrieval on moment-retrieval files (``videoidx eval``).

:func:`evaluate` reads a Charades-STA or QVHighlights file (:mod:`.datasets`), runs each query
through :func:`videoidx.search` on its video, and scores the hits (:mod:`.metrics`): R1@IoU0.5,
R1@IoU0.7, mean IoU of the top hit and recall@5, per search mode, beside a query-blind baseline.
"""

from videoidx.evaluate.datasets import MomentQuery, read_moments
from videoidx.evaluate.metrics import Scores, baseline, iou, score, typical_window
from videoidx.evaluate.runner import EvalReport, QueryResult, evaluate, match_videos

__all__ = [
    "EvalReport",
    "MomentQuery",
    "QueryResult",
    "Scores",
    "baseline",
    "evaluate",
    "iou",
    "match_videos",
    "read_moments",
    "score",
    "typical_window",
]
