"""The in-memory vector copy gives exactly what DuckDB's scan gives, and stays current.

Every check compares the copy against the SQL scan of the same table (a store whose copy limit
is 0 always scans), on random unit vectors with deliberate ties. A copy that is not refreshed
after a write, that keeps a deleted video's documents, or that keeps a document's old vector
after a re-embedding answers differently and fails here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.storefix import filled_store
from videoidx.store import Store
from videoidx.store import vectors as vec

DIMS = 8


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.standard_normal((n, DIMS)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _embed_all(store: Store, model: vec.VectorModel, rng: np.random.Generator) -> np.ndarray:
    pending = vec.missing_docs(store, model)
    vectors = _unit(rng, len(pending))
    vectors[1] = vectors[0]  # a tie: both orders must break it by document number
    vec.write_vectors(store, model, pending, vectors)
    return vectors


def _both(store: Store, model: vec.VectorModel, query: np.ndarray, limit: int) -> tuple[list, list]:
    """(copy's answer, SQL scan's answer) for the same query."""
    with store._read() as cur:
        cached = vec.nearest_docs(store, cur, model, query, [], [], limit)
        limit_bytes = store.vector_cache.max_bytes
        store.vector_cache.max_bytes = 0  # nothing fits: the scan answers
        try:
            scanned = vec.nearest_docs(store, cur, model, query, [], [], limit)
        finally:
            store.vector_cache.max_bytes = limit_bytes
    return cached, scanned


def _same(cached: list[tuple[int, float]], scanned: list[tuple[int, float]]) -> None:
    assert [d for d, _ in cached] == [d for d, _ in scanned]
    assert np.allclose([s for _, s in cached], [s for _, s in scanned], atol=1e-5)


@pytest.fixture
def library(tmp_path: Path) -> tuple[Store, vec.VectorModel]:
    store = filled_store(tmp_path / "v.duckdb", ("vid-a", "vid-b", "vid-c"), clips=6)
    model = vec.ensure_model(store, "test:rand:8", "test", "rand", DIMS)
    return store, model


def test_the_copy_ranks_exactly_as_the_scan(library: tuple[Store, vec.VectorModel]) -> None:
    store, model = library
    rng = np.random.default_rng(1)
    vectors = _embed_all(store, model, rng)
    for query in [*_unit(rng, 5), vectors[0]]:  # the last one hits the tie first
        for limit in (1, 3, 10, 1000):
            cached, scanned = _both(store, model, query, limit)
            _same(cached, scanned)
    assert store.vector_cache._copies, "the unfiltered search did not use the copy"
    store.close()


def test_the_copy_follows_writes_deletes_and_reembedding(
    library: tuple[Store, vec.VectorModel],
) -> None:
    store, model = library
    rng = np.random.default_rng(2)
    pending = vec.missing_docs(store, model)
    half = len(pending) // 2
    vec.write_vectors(store, model, pending[:half], _unit(rng, half))
    query = _unit(rng, 1)[0]
    _same(*_both(store, model, query, 1000))  # the copy is built now, with half the docs

    # The other half, written after the copy exists: found without a rebuild.
    rest = pending[half:]
    target = _unit(rng, len(rest))
    target[0] = query  # the best possible match to the query
    vec.write_vectors(store, model, rest, target)
    cached, scanned = _both(store, model, query, 5)
    assert cached[0][0] == rest[0].doc
    _same(cached, scanned)

    # A document embedded again: its new vector counts, and it is not listed twice.
    far = -query
    vec.write_vectors(store, model, [rest[0]], far[None, :])
    cached, scanned = _both(store, model, query, 1000)
    assert cached[-1][0] == rest[0].doc and [d for d, _ in cached].count(rest[0].doc) == 1
    _same(cached, scanned)

    # A deleted video's documents leave the copy with it.
    gone = {d.doc for d in pending if d.video_id == "vid-b"}
    assert gone
    store.delete_video("vid-b")
    cached, scanned = _both(store, model, query, 1000)
    assert not gone & {d for d, _ in cached}
    _same(cached, scanned)

    # Dropped vectors (``videoidx reembed``) leave it too.
    vec.drop_vectors(store, model, video_ids=["vid-a"])
    cached, scanned = _both(store, model, query, 1000)
    assert {d.video_id for d in pending if d.doc in {c for c, _ in cached}} == {"vid-c"}
    _same(cached, scanned)
    store.close()


def test_a_filtered_search_and_a_table_over_the_limit_are_scored_in_sql(
    library: tuple[Store, vec.VectorModel],
) -> None:
    store, model = library
    rng = np.random.default_rng(3)
    _embed_all(store, model, rng)
    query = _unit(rng, 1)[0]
    with store._read() as cur:
        only_c = vec.nearest_docs(store, cur, model, query, ["e.video_id = ?"], ["vid-c"], 1000)
    assert only_c and not store.vector_cache._copies  # a filter never builds the copy
    videos = {
        r[0]
        for r in store.sql(
            "SELECT video_id FROM search_docs WHERE doc IN (SELECT unnest(?::BIGINT[]))",
            [[d for d, _ in only_c]],
        )
    }
    assert videos == {"vid-c"}
    store.vector_cache.max_bytes = 10  # smaller than the table: no copy, the same answer
    cached, scanned = _both(store, model, query, 7)
    assert not store.vector_cache._copies
    _same(cached, scanned)
    store.close()


def test_the_copy_is_built_by_the_second_search_not_the_first(
    library: tuple[Store, vec.VectorModel],
) -> None:
    # A one-shot `videoidx search` must not pay a copy's build for its one query.
    store, model = library
    rng = np.random.default_rng(5)
    _embed_all(store, model, rng)
    query = _unit(rng, 1)[0]
    with store._read() as cur:
        first = vec.nearest_docs(store, cur, model, query, [], [], 5)
        assert not store.vector_cache._copies
        second = vec.nearest_docs(store, cur, model, query, [], [], 5)
        assert store.vector_cache._copies
    _same(second, first)
    store.close()


def test_a_serving_process_sizes_the_copy_by_its_setting(tmp_path: Path) -> None:
    import videoidx
    from ui.server import make_context

    for mb in (0, 2048):
        conf = videoidx.resolve_settings(
            {"db_path": str(tmp_path / f"s{mb}.duckdb"), "vector_copy_mb": mb}, env={}
        )
        ctx = make_context(conf)
        try:
            assert ctx.store.vector_cache.max_bytes == mb * 1024 * 1024
        finally:
            ctx.jobs.close()
            ctx.store.close()
    with pytest.raises(videoidx.ConfigError, match="vector_copy_mb"):
        videoidx.resolve_settings({"vector_copy_mb": -1}, env={})
