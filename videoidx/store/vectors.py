"""Embedding vectors of the search documents, one DuckDB table per model, and exact cosine top-k.

Every searchable document (event, speech segment, on-screen text span: the ``search_docs`` view,
one doc counter) may have a vector per embedding model. A model is named by its key (engine,
model, dims; :attr:`QueryEmbedder.model_key`); ``embedding_models`` maps each key to its table
``vectors_<n>(doc BIGINT, video_id VARCHAR, vector FLOAT[dims])``. Fixed-size ``FLOAT[dims]``
arrays let core DuckDB (no extension) score with ``array_inner_product``; the vectors are
L2-normalised, so that is the cosine. Vectors of two keys live in two tables and are never
compared: a search names the key of the embedder that made its query vector.

Which documents lack a vector is a query (:func:`missing_docs`), not a flag: whatever stopped a
run, the next one (or ``videoidx reembed``) embeds exactly what is missing. A document's vectors
are deleted with it (``Store._remove_docs``); a vector whose document went away while it was
being computed is not written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from videoidx.errors import StoreError

if TYPE_CHECKING:
    from videoidx.store.store import Store


class QueryEmbedder(Protocol):
    """What the store needs of an embedder: its key, its vectors (the adapters' ``Embedder``)."""

    @property
    def model_key(self) -> str: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True)
class VectorModel:
    """One embedding model's row in ``embedding_models``."""

    model_key: str
    table: str
    embedder: str
    model: str
    dims: int


@dataclass(frozen=True)
class PendingDoc:
    """A document without a vector of some model: its number, video and the text to embed."""

    doc: int
    video_id: str
    text: str


_TABLE = re.compile(r"^vectors_[0-9]+$")

# The text a document is embedded from: an event's label and description, the words of the
# others. NULLIF drops empty parts so "label. " never carries a dangling full stop.
_DOC_TEXT = (
    "CASE WHEN e.kind = 'event' THEN concat_ws('. ', nullif(e.label, ''), "
    "nullif(e.description, '')) ELSE coalesce(e.label, '') END"
)


def models(store: Store) -> list[VectorModel]:
    """Every model that has (or had) vectors in the store, oldest first."""
    with store._read() as cur:
        rows = cur.execute(
            "SELECT model_key, table_name, embedder, model, dims FROM embedding_models "
            "ORDER BY created_at, table_name"
        ).fetchall()
    return [VectorModel(r[0], r[1], r[2] or "", r[3] or "", int(r[4])) for r in rows]


def find_model(store: Store, model_key: str) -> VectorModel | None:
    """The model stored under ``model_key``, or None."""
    return next((m for m in models(store) if m.model_key == model_key), None)


def ensure_model(store: Store, model_key: str, embedder: str, model: str, dims: int) -> VectorModel:
    """The model's row and table, created on first use."""
    found = find_model(store, model_key)
    if found is not None:
        return found
    if dims < 1:
        raise StoreError(f"embedding model {model_key!r} has {dims} dimensions; expected >= 1")
    with store._tx() as con:
        number = int(con.execute("SELECT nextval('embedding_model_seq')").fetchall()[0][0])
        table = f"vectors_{number}"
        con.execute(
            f"CREATE TABLE {table} (doc BIGINT NOT NULL, video_id VARCHAR NOT NULL, "
            f"vector FLOAT[{int(dims)}] NOT NULL)"
        )
        con.execute(
            "INSERT INTO embedding_models (model_key, table_name, embedder, model, dims) "
            "VALUES (?, ?, ?, ?, ?)",
            [model_key, table, embedder, model, int(dims)],
        )
    return VectorModel(model_key, table, embedder, model, int(dims))


def _table(model: VectorModel) -> str:
    # Table names are ours (vectors_<n>), never user text; checked because they go into SQL.
    if not _TABLE.match(model.table):
        raise StoreError(f"embedding table name {model.table!r} is not one videoidx made")
    return model.table


def missing_docs(
    store: Store,
    model: VectorModel,
    *,
    video_ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[PendingDoc]:
    """Documents (of ``video_ids``, or all) without a vector of ``model``, in doc order."""
    where = [f"e.doc NOT IN (SELECT doc FROM {_table(model)})"]
    params: list[Any] = []
    if video_ids is not None:
        where.append("e.video_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(video_ids))
    sql = (
        f"SELECT e.doc, e.video_id, {_DOC_TEXT}, e.kind FROM search_docs e WHERE "
        + " AND ".join(where)
        + " ORDER BY e.doc"
    )
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    with store._read() as cur:
        rows = cur.execute(sql, params).fetchall()
    # Only events carry measurement notation; what was said or shown keeps its numbers.
    return [
        PendingDoc(int(r[0]), r[1], meaning_text(r[2] or "") if r[3] == "event" else r[2] or "")
        for r in rows
    ]


# Measurement notation: hex colours, percentages, levels in dBFS, times and spans in seconds.
_MEASURES = re.compile(
    r"\(?#[0-9a-fA-F]{6}\)?"
    r"|[-+]?\d+(?:\.\d+)?(?:\s*-\s*\d+(?:\.\d+)?)?\s*(?:%|dBFS\b|s\b)"
)
# What removing them leaves behind: "( , starts", "green , white ;", "()".
_ORPHANS = (
    (re.compile(r"\(\s*[,;]\s*"), "("),
    (re.compile(r"\(\s*\)"), ""),
    (re.compile(r"\s+(?=[,;)])"), ""),
    (re.compile(r"[,;](?=\s*(?:[,;)]|$))"), ""),
    (re.compile(r"\s{2,}"), " "),
)


def meaning_text(text: str) -> str:
    """``text`` as a sentence model should read it: without measurement notation.

    A hex code or "97%" means nothing to a sentence model and dilutes what the words say: the
    offline indexer's "medium, green 97% (#2f8f3a)" came out closer to unrelated texts than to
    "emerald screen" (see BENCHMARKS.md, retrieval). Keyword search keeps the full text.
    """
    out = _MEASURES.sub("", text)
    for pattern, repl in _ORPHANS:
        out = pattern.sub(repl, out)
    return out.strip(" ,;")


def write_vectors(
    store: Store, model: VectorModel, docs: Sequence[PendingDoc], vectors: np.ndarray
) -> int:
    """Store ``vectors`` (one row per doc, in order) for ``model``; returns how many were
    written. Docs that went away meanwhile are skipped; a doc's old vector is replaced."""
    if len(docs) != len(vectors):
        raise StoreError(f"{len(docs)} documents but {len(vectors)} vectors to store")
    if not docs:
        return 0
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != model.dims:
        raise StoreError(
            f"vectors of shape {vectors.shape} do not fit model {model.model_key!r} "
            f"({model.dims} dimensions)"
        )
    table = _table(model)
    rows = np.empty(len(vectors), dtype=object)
    rows[:] = list(vectors)  # one float32 array per row: DuckDB reads it as a list
    staged = {
        "doc": np.asarray([d.doc for d in docs], dtype=np.int64),
        "video_id": np.asarray([d.video_id for d in docs], dtype=object),
        "vector": rows,
    }
    with store._tx() as con:
        store._stage_n += 1
        name = f"_vectors_{store._stage_n}"
        con.register(name, staged)
        try:
            con.execute(f"DELETE FROM {table} WHERE doc IN (SELECT doc FROM {name})")
            cur = con.execute(
                f"INSERT INTO {table} SELECT s.doc, s.video_id, s.vector::FLOAT[{model.dims}] "
                f"FROM {name} s WHERE s.doc IN (SELECT doc FROM search_docs) ORDER BY s.doc"
            )
            written = cur.fetchall()
            kept = np.isin(
                staged["doc"],
                con.execute(
                    f"SELECT doc FROM {name} WHERE doc IN (SELECT doc FROM search_docs)"
                ).fetchnumpy()["doc"],
            )
        finally:
            con.unregister(name)
    # Committed: the in-memory copy gets the same rows the table got.
    store.vector_cache.added(table, staged["doc"][kept], vectors[kept])
    return int(written[0][0]) if written else 0


def drop_vectors(
    store: Store, model: VectorModel, *, video_ids: Sequence[str] | None = None
) -> None:
    """Delete ``model``'s vectors (of ``video_ids``, or all), so they are embedded again."""
    with store._tx() as con:
        store._vectors_removed = True
        if video_ids is None:
            con.execute(f"DELETE FROM {_table(model)}")
        else:
            con.execute(
                f"DELETE FROM {_table(model)} WHERE video_id IN (SELECT unnest(?::VARCHAR[]))",
                [list(video_ids)],
            )


def has_vectors(store: Store, model_key: str) -> bool:
    """Whether any document has a vector of ``model_key``."""
    model = find_model(store, model_key)
    if model is None:
        return False
    with store._read() as cur:
        return bool(cur.execute(f"SELECT EXISTS (SELECT 1 FROM {_table(model)})").fetchall()[0][0])


def vector_counts(store: Store) -> dict[str, int]:
    """Vectors stored per model key."""
    out: dict[str, int] = {}
    for model in models(store):
        with store._read() as cur:
            out[model.model_key] = int(
                cur.execute(f"SELECT count(*) FROM {_table(model)}").fetchall()[0][0]
            )
    return out


def nearest_docs(
    store: Store,
    cur: Any,
    model: VectorModel,
    query_vector: np.ndarray,
    where: list[str],
    params: list[Any],
    limit: int,
) -> list[tuple[int, float]]:
    """The ``limit`` documents closest to ``query_vector`` (exact cosine), with their scores,
    among those matching ``where`` (conditions on ``search_docs e``). Without conditions the
    store's in-memory copy scores (:mod:`videoidx.store.vector_cache`), with the same result."""
    vector = np.asarray(query_vector, dtype=np.float32).ravel()
    if vector.shape[0] != model.dims:
        raise StoreError(
            f"the query vector has {vector.shape[0]} numbers, model {model.model_key!r} "
            f"stores {model.dims}"
        )
    if not where:
        near = store.vector_cache.nearest(
            cur, _table(model), model.dims, store.vector_generation, vector, int(limit)
        )
        if near is not None:
            return near
    doc_filter = ""
    if where:
        doc_filter = (
            "WHERE v.doc IN (SELECT e.doc FROM search_docs e WHERE " + " AND ".join(where) + ")"
        )
    sql = (
        f"SELECT v.doc, array_inner_product(v.vector, ?::FLOAT[{model.dims}]) AS score "
        f"FROM {_table(model)} v {doc_filter} ORDER BY score DESC, v.doc LIMIT ?"
    )
    rows = cur.execute(sql, [vector.tolist(), *params, int(limit)]).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]
