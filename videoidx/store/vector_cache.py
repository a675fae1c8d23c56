"""An in-memory copy of each model's vectors, for exact cosine top-k without a table scan.

DuckDB scores a query against every stored vector with ``array_inner_product`` and sorts; at
100,000 vectors of 384 numbers that took 58 to 66 ms a query on this machine, where one BLAS
matrix-vector product over the same numbers in numpy takes about 16 ms. A search without
filters (the page's default) therefore scores against a copy of the table held by the
:class:`~videoidx.store.store.Store` that owns the file. The copy is exact (same vectors, same
cosine, ties by document number as in SQL), so results do not change, only their cost.

* **Built on the second search** of a store's life, from one read of the table (about 0.5 s per
  100,000 vectors), and only when it fits in ``max_bytes`` (:data:`MAX_BYTES`, or the
  ``vector_copy_mb`` setting in a serving process); a larger table is scored by DuckDB as
  before. The first search scans: a one-shot ``videoidx search`` would pay the build for one
  query, which costs more than the scan it saves.
* **Kept current in place**: vectors this process writes are added to the copy after their
  transaction commits (replacing a document's old vector); removals (a video deleted or
  re-indexed, a model's vectors dropped) bump the store's vector generation, and a copy of an
  older generation is rebuilt at its next use. The file is owned by one process (DuckDB's lock),
  so no other process can change the table under the copy.
* Filtered searches (a video, a time range, a kind...) stay in SQL: the filter leaves few rows
  to score, and SQL knows which ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_BYTES = 512 * 1024 * 1024
"""Largest copy kept per model by default: 350,000 vectors of 384 numbers. Beyond it DuckDB
scores."""

BUILD_AT_SEARCH = 2
"""The unfiltered search of a table (in one store's life) that builds its copy."""


@dataclass
class _Copy:
    generation: int
    docs: np.ndarray
    """int64 document numbers, one per row of ``matrix``."""
    matrix: np.ndarray
    """float32, one L2-normalised vector per row."""


class VectorCache:
    """The copies of one store's vector tables, by table name. Thread-safe."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._copies: dict[str, _Copy] = {}
        self._searches: dict[str, int] = {}
        self._lock = threading.Lock()

    def nearest(
        self, cur: Any, table: str, dims: int, generation: int, vector: np.ndarray, limit: int
    ) -> list[tuple[int, float]] | None:
        """The ``limit`` closest documents (doc, cosine), best first; None when there is no
        copy to score (the first search, or a table too large to copy): the caller scores in
        SQL."""
        got = self._arrays(cur, table, dims, generation)
        if got is None:
            return None
        docs, matrix = got
        if len(docs) == 0:
            return []
        scores = matrix @ vector.astype(np.float32, copy=False)
        k = min(limit, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        # Best first, and equal scores by document number, as the SQL ORDER BY has it.
        order = top[np.lexsort((docs[top], -scores[top]))]
        return [(int(docs[i]), float(scores[i])) for i in order]

    def added(self, table: str, docs: np.ndarray, vectors: np.ndarray) -> None:
        """Vectors just committed to ``table``: replace or add them in its copy, if any."""
        with self._lock:
            copy = self._copies.get(table)
            if copy is None or len(docs) == 0:
                return
            keep = ~np.isin(copy.docs, docs)
            copy.docs = np.concatenate([copy.docs[keep], docs.astype(np.int64)])
            copy.matrix = np.concatenate([copy.matrix[keep], vectors.astype(np.float32)])
            if copy.matrix.nbytes > self.max_bytes:
                del self._copies[table]  # grown past the limit: DuckDB scores from now on

    def forget(self) -> None:
        """Drop every copy (the store is closing)."""
        with self._lock:
            self._copies.clear()

    def _arrays(
        self, cur: Any, table: str, dims: int, generation: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The copy's (docs, matrix), taken together under the lock (``added`` replaces both)."""
        # Held while building, so a write committed meanwhile waits and then lands in the copy
        # (``added`` replaces by document, so one already in the snapshot is not doubled).
        with self._lock:
            copy = self._copies.get(table)
            if copy is not None and copy.generation == generation:
                return copy.docs, copy.matrix
            self._copies.pop(table, None)
            searches = self._searches[table] = self._searches.get(table, 0) + 1
            if searches < BUILD_AT_SEARCH:
                return None
            (n,) = cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
            if int(n) * dims * 4 > self.max_bytes:
                return None
            got = cur.execute(f"SELECT doc, vector FROM {table}").fetchnumpy()
            docs = np.asarray(got["doc"], dtype=np.int64)
            rows = got["vector"]
            matrix = (
                np.stack(rows).astype(np.float32, copy=False)
                if len(rows)
                else np.empty((0, dims), dtype=np.float32)
            )
            self._copies[table] = _Copy(generation, docs, matrix)
            return docs, matrix
