"""Benchmark: keyword vs semantic vs hybrid search latency, and indexing with embeddings on.

Latency: builds the synthetic library of ``benchmarks/search.py`` (Zipf vocabulary) at each
size in ``--sizes``, gives every document a random unit vector of ``--dims`` numbers (random, so
generating a million is fast; exact cosine costs the same whatever the numbers), then times the
same queries in one run in the three modes through ``videoidx.search``. The query vector is
made by a fixed embedder so the store's work is what is timed; the real model's query embedding
time is measured beside it (``--model``), since a page search pays both.

Indexing: ``--video`` indexes a video offline (the local indexer) twice into fresh stores, with
embeddings off and on (the packaged all-MiniLM-L6-v2), and prints the wall times and the ratio.

    .venv/bin/python benchmarks/semantic.py --sizes 100000,1000000
    .venv/bin/python benchmarks/semantic.py --sizes 20000 --video ../shared/media/X.mp4

Targets (issue 15): hybrid p95 <= 50 ms at 100k documents and <= 150 ms at 1M; indexing with
embeddings within 10% of the time without.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search as search_bench  # the sibling benchmark's synthetic library

from videoidx.store import Store, search
from videoidx.store import vectors as vec

VECTOR_BATCH = 50_000


class FixedEmbedder:
    """A query embedder with a key and a random unit query vector per text (seeded by it)."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.model_key = f"bench:random:{dims}"

    def embed_query(self, text: str) -> np.ndarray:
        rng = np.random.default_rng(abs(hash(text)) % 2**32)
        v = rng.standard_normal(self.dims).astype(np.float32)
        return v / np.linalg.norm(v)


def add_vectors(store: Store, model: vec.VectorModel, seed: int) -> float:
    """Random unit vectors for every document; returns the seconds spent in the store."""
    rng = np.random.default_rng(seed)
    spent = 0.0
    while True:
        docs = vec.missing_docs(store, model, limit=VECTOR_BATCH)
        if not docs:
            return spent
        v = rng.standard_normal((len(docs), model.dims), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        t0 = time.perf_counter()
        vec.write_vectors(store, model, docs, v)
        spent += time.perf_counter() - t0


def latency(size: int, dims: int, repeat: int, folder: Path, copy_mb: int | None = None) -> None:
    path = folder / f"semantic-{size}.duckdb"
    for f in (path, Path(f"{path}.wal")):
        f.unlink(missing_ok=True)
    lib = search_bench.Library(50_000, seed=1)
    embedder = FixedEmbedder(dims)
    with Store.open(path) as store:
        if copy_mb is not None:  # the vector_copy_mb setting (the in-memory copy's cap)
            store.vector_cache.max_bytes = copy_mb * 1024 * 1024
        t0 = time.perf_counter()
        _, videos = search_bench.ingest(store, lib, size, 10, 1000, 20_000)
        model = vec.ensure_model(store, embedder.model_key, "bench", "random", dims)
        spent = add_vectors(store, model, seed=2)
        n = store.index_size().search_docs
        print(
            f"\n{n:,} documents in {len(videos):,} videos, {dims}-d vectors "
            f"(built in {time.perf_counter() - t0:.0f} s; vectors {n / spent:,.0f}/s in the store)",
            flush=True,
        )
        qs = search_bench.queries(store, lib, videos)
        print(f"{'mode':<9} {'class':<9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for mode in ("keyword", "semantic", "hybrid"):
            every: list[float] = []
            by_class: dict[str, list[float]] = {}
            for cls, q, filters in qs:

                def run(q: str = q, f: dict[str, object] = filters, m: str = mode) -> None:
                    search(store, q, mode=m, embedder=embedder, limit=20, **f)  # type: ignore[arg-type]

                run()  # warm-up
                ms = search_bench.timed(run, repeat)
                every += ms
                by_class.setdefault(cls, []).extend(ms)
            for cls, ms in [*by_class.items(), ("all", every)]:
                print(
                    f"{mode:<9} {cls:<9} {search_bench.pct(ms, 0.5):8.1f} "
                    f"{search_bench.pct(ms, 0.95):8.1f} {max(ms):8.1f}",
                    flush=True,
                )


def scan_only(size: int, dims: int, repeat: int, folder: Path) -> None:
    """Exact top-20 over ``size`` random vectors alone: a DuckDB scan of a FLOAT[dims] table
    (what semantic search does), and the same in numpy from memory, float32 and int8 (what an
    in-memory or quantised copy would cost), to say what a million documents need."""
    import duckdb

    path = folder / f"scan-{size}.duckdb"
    path.unlink(missing_ok=True)
    rng = np.random.default_rng(3)
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE v (doc BIGINT, vector FLOAT[{dims}])")
    matrix = np.empty((size, dims), dtype=np.float32)
    for at in range(0, size, VECTOR_BATCH):
        n = min(VECTOR_BATCH, size - at)
        block = rng.standard_normal((n, dims), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        matrix[at : at + n] = block
        rows = np.empty(n, dtype=object)
        rows[:] = list(block)
        con.register("b", {"doc": np.arange(at, at + n, dtype=np.int64), "vector": rows})
        con.execute(f"INSERT INTO v SELECT doc, vector::FLOAT[{dims}] FROM b")
        con.unregister("b")
    q = matrix[7].copy()
    sql = (
        f"SELECT doc, array_inner_product(vector, ?::FLOAT[{dims}]) AS s FROM v "
        "ORDER BY s DESC LIMIT 20"
    )
    con.execute(sql, [q.tolist()]).fetchall()
    duck = search_bench.timed(lambda: con.execute(sql, [q.tolist()]).fetchall(), repeat)
    con.close()
    f32 = search_bench.timed(lambda: np.argpartition(-(matrix @ q), 20)[:20], repeat)
    scale = 127.0 / np.abs(matrix).max()
    int8 = (matrix * scale).round().astype(np.int8)
    q8 = (q * scale).round().astype(np.int8)
    i8 = search_bench.timed(
        lambda: np.argpartition(-(int8.astype(np.int16) @ q8.astype(np.int16)), 20)[:20], repeat
    )
    print(f"\nexact top-20 over {size:,} {dims}-d vectors alone (p50 / p95 ms):")
    for name, ms in (("duckdb FLOAT[] scan", duck), ("numpy float32 in RAM", f32),
                     ("numpy int8 in RAM", i8)):  # fmt: skip
        print(f"  {name:<22} {search_bench.pct(ms, 0.5):8.1f} {search_bench.pct(ms, 0.95):8.1f}")
    path.unlink(missing_ok=True)


def query_embedding(model_dir: str | None, repeat: int) -> None:
    from indexers.embedders.local import LocalEmbedder
    from videoidx.settings import resolve_settings

    settings = resolve_settings(
        {"embedder": "local", "embed_model": model_dir}, env={}, config_path=os.devnull
    )
    emb = LocalEmbedder(settings)
    t0 = time.perf_counter()
    emb.embed_query("warm up")
    load_s = time.perf_counter() - t0
    questions = ["person falls down", "two cars crash at night", "someone plays the guitar"]
    ms = search_bench.timed(lambda: [emb.embed_query(q) for q in questions], repeat)
    per = [m / len(questions) for m in ms]
    print(
        f"\nquery embedding ({emb.model_id}): first call {load_s:.1f} s (import + load), then "
        f"p50 {search_bench.pct(per, 0.5):.1f} ms, p95 {search_bench.pct(per, 0.95):.1f} ms"
    )


def synth_video(folder: Path) -> Path:
    """A 10-minute video of 49 colour segments of 5-20 s (like benchmarks/pipeline.py's)."""
    from videoidx.media.synth import Segment, make_video

    path = folder / "semantic_10min.mp4"
    if path.is_file():
        return path
    rng = np.random.default_rng(5)
    colours = ("red", "green", "blue", "yellow", "white", "black", "orange", "purple")
    segments, total = [], 0.0
    while total < 600.0:
        length = min(float(rng.uniform(5.0, 20.0)), 600.0 - total)
        segments.append(Segment(colours[len(segments) % len(colours)], length))
        total += length
    return make_video(path, segments)


def indexing(video: Path) -> None:
    from videoidx.pipeline.run import index_video
    from videoidx.settings import resolve_settings

    # The model is loaded before timing: a long-lived process (the page, a batch) loads it once.
    query_embedding(None, 1)
    # A first run loads the speech and OCR models (cached per process): not counted. Then the
    # two settings alternate, twice, so neither gets the warm caches or the quiet moments.
    times: dict[str, list[float]] = {"none": [], "local": []}
    order = ["warm-up", "local", "none", "local", "none"]
    with tempfile.TemporaryDirectory() as tmp:
        for n, label in enumerate(order):
            embedder = "none" if label == "warm-up" else label
            settings = resolve_settings(
                {"db_path": str(Path(tmp) / f"{n}.duckdb"), "indexer": "local",
                 "embedder": embedder},
                env={}, config_path=os.devnull,
            )  # fmt: skip
            t0 = time.perf_counter()
            result = index_video(video, settings=settings)
            wall_s = time.perf_counter() - t0
            if label != "warm-up":
                times[label].append(wall_s)
            with Store.open(settings.db_path) as store:
                counts = vec.vector_counts(store)
            print(
                f"indexing {video.name} ({label}, embedder={embedder}): {wall_s:.1f} s, "
                f"{result.clips_done} clips, status {result.status}, vectors {counts}",
                flush=True,
            )
    with_s, without_s = statistics.median(times["local"]), statistics.median(times["none"])
    print(f"with / without embeddings (medians): {with_s / without_s:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="100000,1000000", help="document counts, comma-separated")
    ap.add_argument("--dims", type=int, default=384)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--folder", default="bench-data")
    ap.add_argument("--video", type=Path, help="also time indexing this video with/without")
    ap.add_argument(
        "--synth-video",
        action="store_true",
        help="time indexing a generated 10-minute video (colour segments, 320x240) with/without",
    )
    ap.add_argument("--no-query-model", action="store_true", help="skip the real model timing")
    ap.add_argument("--scan-only", type=int, default=0, help="also time a bare vector scan")
    ap.add_argument(
        "--copy-mb", type=int, help="cap of the in-memory vector copy (default: the store's)"
    )
    args = ap.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()}", flush=True)
    for size in (int(s) for s in args.sizes.split(",") if s):
        latency(size, args.dims, args.repeat, folder, args.copy_mb)
    if args.scan_only:
        scan_only(args.scan_only, args.dims, args.repeat, folder)
    if not args.no_query_model:
        query_embedding(None, 10)
    if args.synth_video:
        args.video = synth_video(folder)
    if args.video:
        indexing(args.video)


if __name__ == "__main__":
    main()
