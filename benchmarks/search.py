"""Benchmark: store ingest rate and BM25 search latency on a synthetic library, vs an ILIKE scan.

Builds a library of ``--events`` events (default 1,000,000) with a Zipf-like vocabulary, written
through the public store API in batches (``Store.write_clips``, one transaction per batch), then
times 50 mixed queries (rare, mid and very common terms, multi-term, filtered) through
``videoidx.search`` and the same queries as an ``ILIKE '%term%'`` scan in the same process.

    .venv/bin/python benchmarks/search.py                 # the full 1M-event run
    .venv/bin/python benchmarks/search.py --events 50000  # a quick check

Targets (issue 3): ingest >= 50,000 events/s; p95 <= 20 ms typical and <= 100 ms for terms in
most rows; BM25 >= 10x faster than the ILIKE scan.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import duckdb
import numpy as np

from videoidx.store import ClipWrite, Store, search
from videoidx.store.tokenize import tokenize
from videoidx.types import Character, ClipAnalysis, ClipSpec, Event, VideoInfo

SYLLABLES = (
    *("ka", "to", "ri", "ne", "mo", "sa", "lu", "pe", "di", "go", "ba", "ze", "vi", "chu"),
    *("an", "el", "or", "ist", "um", "fo", "nak", "tre", "qui", "wes"),
)
MAX_SYLLABLES = 4
LABELS = [
    "pass",
    "shot",
    "goal",
    "foul",
    "save",
    "tackle",
    "cross",
    "corner",
    "header",
    "throw",
    "run",
    "walk",
    "talk",
    "enter",
    "exit",
]


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    possible = sum(len(SYLLABLES) ** k for k in range(2, MAX_SYLLABLES + 1))
    if size > possible // 2:  # random draws would take forever to find the last few words
        raise SystemExit(f"--vocab {size} is too large; at most {possible // 2}")
    words: dict[str, None] = {}
    while len(words) < size:
        n = int(rng.integers(2, MAX_SYLLABLES + 1))
        words.setdefault("".join(rng.choice(SYLLABLES, n)), None)
    return list(words)


class Library:
    """Deterministic synthetic events: descriptions of 6-20 Zipf-distributed words."""

    def __init__(self, vocab_size: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocab = vocabulary(vocab_size, self.rng)
        ranks = np.arange(1, vocab_size + 1)
        p = 1.0 / ranks**1.07
        self.p = p / p.sum()
        self.names = [
            f"{w.title()} {v.title()}"
            for w, v in zip(self.vocab[500:1000], self.vocab[1000:1500], strict=True)
        ]
        self.places = self.vocab[200:400]

    def clip(self, video_id: str, index: int, n_events: int) -> ClipWrite:
        spec = ClipSpec(video_id, index, index * 25.0, (index + 1) * 25.0)
        lengths = self.rng.integers(6, 21, n_events)
        words = self.rng.choice(len(self.vocab), int(lengths.sum()), p=self.p)
        chars = [
            Character(f"c{j}", self.names[int(self.rng.integers(len(self.names)))])
            for j in range(2)
        ]
        events, at = [], 0
        for i, n in enumerate(lengths):
            text = " ".join(self.vocab[w] for w in words[at : at + n])
            at += n
            start = spec.start_s + i * 25.0 / n_events
            events.append(
                Event(
                    f"e{i}",
                    start,
                    start + 2.0,
                    LABELS[int(self.rng.integers(len(LABELS)))],
                    text,
                    characters=(f"c{i % 2}",),
                    objects=(self.vocab[int(self.rng.integers(50, 3000))],),
                    location=self.places[int(self.rng.integers(len(self.places)))],
                )
            )
        return ClipWrite(spec, f"{video_id}-{index}", ClipAnalysis(events=events, characters=chars))


def ingest(
    store: Store,
    lib: Library,
    n_events: int,
    per_clip: int,
    per_video: int,
    batch: int,
    cpu_s: list[float] | None = None,
) -> tuple[float, list[str]]:
    """Write the library; returns (seconds spent in the store, video ids). ``cpu_s``, when
    given, gets the process CPU seconds of the store calls appended: on a loaded machine the
    wall clock mostly measures the other processes."""
    spent = cpu = 0.0
    videos: list[str] = []
    clips_per_video = max(per_video // per_clip, 1)
    pending: list[ClipWrite] = []
    written = pending_events = 0
    while written < n_events:
        vid = f"video{len(videos):05d}"
        videos.append(vid)
        t0, cpu0 = time.perf_counter(), time.process_time()
        store.upsert_video(
            VideoInfo(
                vid,
                f"/lib/{vid}.mp4",
                f"Match {len(videos)}",
                clips_per_video * 25.0,
                25,
                25,
                0,
                1280,
                720,
                0,
                "h264",
                True,
                0.0,
                0,
            )
        )
        spent += time.perf_counter() - t0
        cpu += time.process_time() - cpu0
        for c in range(clips_per_video):
            if written >= n_events:
                break
            pending.append(lib.clip(vid, c, per_clip))
            written += per_clip
            pending_events += per_clip
            if pending_events >= batch:
                t0, cpu0 = time.perf_counter(), time.process_time()
                store.write_clips(None, pending)
                spent += time.perf_counter() - t0
                cpu += time.process_time() - cpu0
                pending, pending_events = [], 0
    if pending:
        t0, cpu0 = time.perf_counter(), time.process_time()
        store.write_clips(None, pending)
        spent += time.perf_counter() - t0
        cpu += time.process_time() - cpu0
    if cpu_s is not None:
        cpu_s.append(cpu)
    return spent, videos


def queries(
    store: Store, lib: Library, videos: list[str]
) -> list[tuple[str, str, dict[str, object]]]:
    """50 queries in five classes, chosen from the stored df so each class means what it says."""
    terms = store.term_document_frequencies()  # keyed by index term (stemmed), not word
    df = {w: terms.get(t[0], 0) for w in lib.vocab for t in [tokenize(w)] if t}
    n = store.index_size().search_docs
    by_df = sorted((w for w in lib.vocab if df.get(w, 0) > 0), key=lambda w: df[w])
    rare = [w for w in by_df if df[w] <= max(n // 20000, 3)][:10]
    mid = [w for w in by_df if n // 2000 <= df[w] <= n // 100][:10]
    common = by_df[-10:]  # the 10 most frequent words: in most rows
    rng = np.random.default_rng(7)
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    out: list[tuple[str, str, dict[str, object]]] = []
    out += [("rare", w, {}) for w in rare]
    out += [("mid", w, {}) for w in mid]
    out += [("common", w, {}) for w in common]
    out += [("multi", f"{pick(rare)} {pick(mid)} {pick(common)}", {}) for _ in range(10)]
    for i in range(10):
        filters: dict[str, object] = {"video_ids": [pick(videos)]}
        if i % 2:
            filters["start_s"], filters["end_s"] = 100.0, 400.0
        out.append(("filtered", f"{pick(mid)} {pick(common)}", filters))
    return out


EVENT_TEXT = (
    "(label || ' ' || description || ' ' || location || ' ' "
    "|| array_to_string(characters, ' ') || ' ' || array_to_string(objects, ' '))"
)
ILIKE_TEXT = f"{EVENT_TEXT} ILIKE ?"


def ilike(con: duckdb.DuckDBPyConnection, query: str, filters: dict[str, object]) -> int:
    """The baseline BM25 replaces: a scan any user could write, so it is plain DuckDB on the
    store's file (``con``), not a read of the Store."""
    terms = query.split()
    where = ["(" + " OR ".join([ILIKE_TEXT] * len(terms)) + ")"]
    params: list[object] = [f"%{t}%" for t in terms]
    if "video_ids" in filters:
        where.append("video_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(filters["video_ids"])
    if "start_s" in filters:
        where += ["end_s >= ?", "start_s <= ?"]
        params += [filters["start_s"], filters["end_s"]]
    # Ranked like the BM25 search (by the number of query terms matched), so that DuckDB
    # cannot stop early the way it can for an unranked "first 20 matches" listing.
    rank = " + ".join([f"({ILIKE_TEXT})::INT"] * len(terms))
    rows = con.execute(
        f"SELECT event_id, {rank} AS hits FROM events "
        f"WHERE {' AND '.join(where)} ORDER BY hits DESC, video_id, start_s LIMIT 20",
        [f"%{t}%" for t in terms] + params,
    ).fetchall()
    return len(rows)


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", default="bench-data/search-bench.duckdb")
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--events-per-clip", type=int, default=10)
    ap.add_argument("--events-per-video", type=int, default=1000)
    ap.add_argument("--batch-events", type=int, default=20_000, help="events per transaction")
    ap.add_argument(
        "--repeat", type=int, default=5, help="timed runs per query (after one warm-up)"
    )
    args = ap.parse_args()
    path = Path(args.db)
    path.parent.mkdir(parents=True, exist_ok=True)
    for f in (path, Path(f"{path}.wal")):
        f.unlink(missing_ok=True)
    lib = Library(args.vocab, seed=1)
    with Store.open(path) as store:
        t0 = time.perf_counter()
        spent, videos = ingest(
            store, lib, args.events, args.events_per_clip, args.events_per_video, args.batch_events
        )
        wall = time.perf_counter() - t0
        size = store.index_size()
        n, postings = size.events, size.postings
        print(f"library: {n:,} events in {len(videos):,} videos, {postings:,} postings")
        print(
            f"ingest (batched, {args.batch_events:,} events/transaction): "
            f"{n / spent:,.0f} events/s in the store "
            f"({spent:.1f} s; {n / wall:,.0f} events/s including generating the data)"
        )
        # The pipeline's path: one transaction per clip.
        vid = videos[-1]
        clips = [lib.clip(vid, 10_000 + i, args.events_per_clip) for i in range(100)]
        t0 = time.perf_counter()
        for c in clips:
            store.write_clip("bench", c.clip, c.cache_key, c.analysis)
        per_clip = time.perf_counter() - t0
        print(
            f"ingest (one transaction per {args.events_per_clip}-event clip): "
            f"{100 / per_clip:,.0f} clips/s = "
            f"{100 * args.events_per_clip / per_clip:,.0f} events/s"
        )
        qs = queries(store, lib, videos)
        # A second connection in this process shares the Store's database (same file, same
        # configuration), so it sees every committed row.
        con = duckdb.connect(str(path))
        classes: dict[str, tuple[list[float], list[float]]] = {}
        for cls, q, filters in qs:
            search(store, q, **filters)  # type: ignore[arg-type]
            ilike(con, q, filters)
            bm = timed(lambda q=q, f=filters: search(store, q, **f), args.repeat)  # type: ignore[arg-type, misc]
            il = timed(lambda q=q, f=filters: ilike(con, q, f), max(2, args.repeat // 2))  # type: ignore[misc]
            classes.setdefault(cls, ([], []))
            classes[cls][0].extend(bm)
            classes[cls][1].extend(il)
        print(
            f"\n{'class':<10}{'bm25 p50':>10}{'bm25 p95':>10}{'ilike p50':>11}"
            f"{'ilike p95':>11}{'speed-up':>10}"
        )
        all_bm: list[float] = []
        all_il: list[float] = []
        for cls, (bm, il) in classes.items():
            all_bm += bm
            all_il += il
            print(
                f"{cls:<10}{pct(bm, 0.5):>9.1f} {pct(bm, 0.95):>9.1f} "
                f"{pct(il, 0.5):>10.1f} {pct(il, 0.95):>10.1f} "
                f"{statistics.median(il) / statistics.median(bm):>9.1f}x"
            )
        print(
            f"{'all':<10}{pct(all_bm, 0.5):>9.1f} {pct(all_bm, 0.95):>9.1f} "
            f"{pct(all_il, 0.5):>10.1f} {pct(all_il, 0.95):>10.1f} "
            f"{statistics.median(all_il) / statistics.median(all_bm):>9.1f}x"
        )
        print("(milliseconds; each query warmed once, then timed)")
        con.close()


if __name__ == "__main__":
    main()
