"""The DuckDB store: one file holding videos, runs, clips, the timeline and its search index.

Concurrency: DuckDB lets one process open a file read-write, and a second process cannot open it
at all while that one holds it (not even read-only). So the web page and the indexer share one
:class:`Store` in one process: writes go through one connection under a lock, and every read
uses a fresh cursor on the same database, which sees only committed transactions (MVCC) and is
not blocked by a writer. A separate process may open the file ``read_only=True`` when no
process holds it read-write.

Writes are transactions: one clip (its row, events, characters, appearances, links, thumbnails,
speech, on-screen text and search postings) is stored whole or not at all.

Re-indexing: a video has **one current timeline**. Writing a clip replaces the clip with the same
id (same video, bounds and cache key) and, when the new clip is done, every clip of an *older
run* of that video that overlaps it in time; a run that finishes ``done`` drops the video's
clips from other runs that are still left. Clips of the same run may overlap (clip overlap
setting). Cached clips adopted by a new run (:meth:`Store.adopt_clip`) keep their rows.

Runs nobody will finish: a process killed with SIGKILL, crashed, or stopped by a full disk
leaves its run ``running``. Opening the file for writing proves no other process is using it
(DuckDB allows one writer), so every run still ``running`` then, except this process's own, is
closed as ``interrupted``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import numpy as np

from videoidx.errors import StoreError
from videoidx.store import migrations
from videoidx.store.reads import StoreReads
from videoidx.store.records import CharacterGroupLike, LinkLike, StoredClip
from videoidx.store.rows import (
    ClipRows,
    ClipWrite,
    Rows,
    clip_id_for,
    event_terms,
    postings,
    words_from_json,
)
from videoidx.store.tokenize import words
from videoidx.store.vector_cache import VectorCache
from videoidx.types import (
    ClipAnalysis,
    ClipSpec,
    Frame,
    ScreenText,
    ShotCut,
    SpeechSegment,
    Usage,
    VideoInfo,
)
from videoidx.vocab import ClipStatus, RunStatus

CLIP_PROVENANCE = "clip"
INTERRUPTED_ERROR = (
    "the process running it ended before it finished (killed, crashed, or out of disk space); "
    "finished clips are kept: run the same command again to index the rest"
)

log = logging.getLogger(__name__)

_live_runs: set[str] = set()
"""Runs this process started and has not finished: a second Store on the same file in this
process (DuckDB allows that) must not take them for abandoned."""
_live_runs_lock = threading.Lock()


def _array(values: Sequence[Any]) -> np.ndarray:
    """An array DuckDB can scan: numbers as a typed array when the column holds only numbers
    (DuckDB reads those without looking at each Python object), anything else as objects
    (lists stay lists, None stays NULL)."""
    first = values[0] if len(values) else None
    if isinstance(first, int | float) and not isinstance(first, bool):
        numbers = np.asarray(values)
        if numbers.dtype.kind in "if":
            return numbers
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class Store(StoreReads):
    """A videoidx DuckDB file. Use :meth:`open`; thread-safe; a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
        self._root = con
        self.path = path
        self.read_only = read_only
        self._write_lock = threading.RLock()
        self._cursor_lock = threading.Lock()
        self._writer = con.cursor()
        self._closed = False
        self._stage_n = 0
        self.vector_cache = VectorCache()
        self.vector_generation = 0
        """Bumped after a transaction that removed vectors: copies of older ones are stale."""
        self._vectors_removed = False

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Store:
        """Open (creating and migrating when needed) the store at ``path``."""
        path = str(path)
        if path != ":memory:" and not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if read_only and path != ":memory:" and not Path(path).is_file():
            raise StoreError(f"store {path} does not exist; index a video first")
        try:
            con = duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            from videoidx.service.record import live_record

            served = live_record(path) if path != ":memory:" else None
            if served is not None:
                raise StoreError(
                    f"store {path} is held by `videoidx serve` (pid {served.pid}); go through "
                    f"it: videoidx.Client({served.url!r}), or videoidx.search(PATH, ...), "
                    "videoidx.index_many and videoidx.ask with db_path set to it, which route "
                    "there by themselves"
                ) from exc
            raise StoreError(
                f"cannot open store {path}: {exc}. Another process probably has it open for "
                "writing (DuckDB allows one); stop it, or use that process's store"
            ) from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        try:
            if read_only:
                version = _read_version(con)
                migrations.check_version(version, path)
                if version < migrations.LATEST_VERSION:
                    raise StoreError(
                        f"store {path} has schema version {version}; open it once read-write "
                        "(any videoidx command that indexes) to upgrade it"
                    )
            else:
                migrations.migrate(con, path)
                _close_abandoned_runs(con, path)
        except BaseException:
            con.close()
            raise
        return cls(con, path, read_only)

    def close(self) -> None:
        with self._write_lock:
            if not self._closed:
                self._closed = True
                self.vector_cache.forget()
                self._writer.close()
                self._root.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor: sees committed data only and never waits for the writer's lock."""
        with self._cursor_lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            cur = self._root.cursor()
        try:
            yield cur
        except duckdb.Error as exc:
            raise StoreError(f"reading store {self.path} failed: {exc}") from exc
        finally:
            cur.close()

    @contextmanager
    def _tx(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer connection inside one transaction; rolled back on any exception."""
        if self.read_only:
            raise StoreError(f"store {self.path} is open read-only; open it read-write to write")
        with self._write_lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            con = self._writer
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except duckdb.Error as exc:
                _rollback(con)
                raise StoreError(f"writing to store {self.path} failed: {exc}") from exc
            except BaseException:
                _rollback(con)
                raise
            finally:
                # After the commit (or rollback), so a copy built from an older snapshot is
                # never tagged with the new generation.
                if self._vectors_removed:
                    self._vectors_removed = False
                    self.vector_generation += 1

    def _insert(
        self, con: duckdb.DuckDBPyConnection, table: str, cols: Rows | Mapping[str, Sequence[Any]]
    ) -> None:
        """Bulk insert columns (a numpy scan is ~100x faster than executemany)."""
        if isinstance(cols, Rows):
            cols = cols.as_columns()
        if not next(iter(cols.values()), []):
            return
        self._stage(
            con,
            f"INSERT INTO {table} BY NAME SELECT * FROM {{}}",
            {k: _array(v) for k, v in cols.items()},
        )

    def _stage(
        self,
        con: duckdb.DuckDBPyConnection,
        sql: str,
        columns: Mapping[str, np.ndarray],
        *,
        fetch: bool = False,
    ) -> dict[str, np.ndarray]:
        """Run ``sql`` with ``{}`` naming ``columns`` registered as a table for that statement;
        with ``fetch``, its result as numpy columns."""
        self._stage_n += 1
        name = f"_stage_{self._stage_n}"
        con.register(name, dict(columns))
        try:
            result = con.execute(sql.format(name))
            return result.fetchnumpy() if fetch else {}
        finally:
            con.unregister(name)

    # -- videos and runs ---------------------------------------------------------------------

    def upsert_video(self, info: VideoInfo) -> None:
        """Add a video or refresh its probe data (its timeline is left alone)."""
        cols = {
            "video_id": info.video_id, "path": info.path, "title": info.title,
            "duration_s": info.duration_s, "fps_avg": info.fps_avg,
            "fps_nominal": info.fps_nominal, "frame_count": info.frame_count,
            "width_px": info.width_px, "height_px": info.height_px,
            "rotation_deg": info.rotation_deg, "codec": info.codec, "has_audio": info.has_audio,
            "start_offset_s": info.start_offset_s, "size_bytes": info.size_bytes,
            "variable_frame_rate": info.variable_frame_rate,
        }  # fmt: skip
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        with self._tx() as con:
            con.execute("DELETE FROM videos WHERE video_id = ?", [info.video_id])
            # One row: plain parameters (staging a one-row numpy table costs a millisecond).
            con.execute(f"INSERT INTO videos ({names}) VALUES ({marks})", list(cols.values()))

    def start_run(
        self,
        video_id: str,
        *,
        indexer: str,
        model: str,
        provider: str,
        prompt_version: str,
        settings: Mapping[str, Any],
    ) -> str:
        """Record the start of an indexing run; returns its id."""
        run_id = uuid.uuid4().hex
        with self._tx() as con:
            con.execute(
                "INSERT INTO index_runs (run_id, video_id, indexer, model, provider, "
                "prompt_version, settings, status, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
                [
                    run_id, video_id, indexer, model, provider, prompt_version,
                    json.dumps(dict(settings), sort_keys=True, default=str), RunStatus.RUNNING,
                ],
            )  # fmt: skip
        with _live_runs_lock:
            _live_runs.add(run_id)
        return run_id

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        usage: Usage | None = None,
        *,
        error: str | None = None,
    ) -> None:
        """Record a run's outcome and spend; a ``done`` run makes its clips the whole timeline."""
        with _live_runs_lock:
            _live_runs.discard(run_id)
        u = usage or Usage()
        with self._tx() as con:
            con.execute(
                "UPDATE index_runs SET status = ?, error = ?, finished_at = current_timestamp, "
                "prompt_tokens = ?, completion_tokens = ?, reasoning_tokens = ?, "
                "cached_tokens = ?, cost_usd = ?, requests = ? WHERE run_id = ?",
                [
                    status, error, u.prompt_tokens, u.completion_tokens, u.reasoning_tokens,
                    u.cached_tokens, u.cost_usd, u.requests, run_id,
                ],
            )  # fmt: skip
            if status == RunStatus.DONE:
                self._remove_clips(
                    con,
                    "video_id = (SELECT video_id FROM index_runs WHERE run_id = ?) "
                    "AND run_id IS DISTINCT FROM ?",
                    [run_id, run_id],
                )

    # -- clips -------------------------------------------------------------------------------

    def write_clip(
        self,
        run_id: str,
        clip: ClipSpec,
        cache_key: str,
        analysis: ClipAnalysis | None,
        *,
        status: ClipStatus = ClipStatus.DONE,
        error: str | None = None,
        frames: Sequence[Frame] = (),
    ) -> None:
        """Store one clip's result in one transaction (see the module docstring for replacing)."""
        self.write_clips(run_id, [ClipWrite(clip, cache_key, analysis, status, error, frames)])

    def write_clips(self, run_id: str | None, items: Sequence[ClipWrite]) -> None:
        """Store several clips in ONE transaction: for bulk loads and imports."""
        if not items:
            return
        with self._tx() as con, _no_gc():
            ids = [_clip_id(i) for i in items]
            self._remove_clips(con, "clip_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
            self._supersede(con, run_id, [i.clip for i in items if i.status == ClipStatus.DONE])
            next_doc = con.execute("SELECT next_doc FROM search_stats").fetchall()[0][0]
            rows = ClipRows(run_id=run_id, next_doc=int(next_doc))
            for item in items:
                rows.add(item, provenance=CLIP_PROVENANCE)
            self._write_rows(con, rows)

    def _write_rows(self, con: duckdb.DuckDBPyConnection, rows: ClipRows) -> None:
        """Insert a batch's rows, table by table, then its search postings: the one write path
        of clips (a table written per clip gets its line here)."""
        self._insert(con, "clips", rows.clips)
        self._insert(con, "events", rows.events)
        self._insert(con, "clip_characters", rows.clip_characters)
        self._insert(con, "event_characters", rows.event_characters)
        self._insert(con, "appearances", rows.appearances)
        self._insert(con, "causal_links", rows.links)
        self._insert(con, "thumbnails", rows.thumbnails)
        self._insert(con, "speech", rows.speech)
        self._insert(con, "screen_text", rows.screen_text)
        self._index_tokens(con, rows)

    def _index_tokens(self, con: duckdb.DuckDBPyConnection, rows: ClipRows) -> None:
        """Add the batch's postings, new terms, df and corpus stats: incremental BM25.

        Words are stemmed and coded in Python (:func:`~videoidx.store.rows.code_tokens`); SQL
        sees each distinct term of the batch once, to give it an id, and the postings as
        integers counted in numpy (:func:`~videoidx.store.rows.postings`).
        """
        con.execute(
            "UPDATE search_stats SET n_docs = n_docs + ?, total_len = total_len + ?, next_doc = ?",
            [rows.doc_count, rows.total_len, rows.next_doc],
        )
        tokens = rows.tokens()
        if not tokens.terms:
            return
        batch = {"term": _array(tokens.terms), "code": np.arange(len(tokens.terms))}
        self._stage(
            con,
            "INSERT INTO terms SELECT nextval('term_seq'), term, 0 FROM "
            "(SELECT term FROM {} ANTI JOIN terms USING (term) ORDER BY term)",
            batch,
        )
        found = self._stage(
            con, "SELECT b.code, t.term_id FROM {} b JOIN terms t USING (term)", batch, fetch=True
        )
        term_ids = np.empty(len(tokens.terms), dtype=np.int64)
        term_ids[found["code"]] = found["term_id"]
        p = postings(tokens, term_ids)
        self._stage(
            con,
            "UPDATE terms SET df = terms.df + d.n FROM {} d WHERE terms.term_id = d.term_id",
            {"term_id": term_ids, "n": p.df},
        )
        self._stage(
            con,
            "INSERT INTO postings SELECT term_id, doc, tf, dl FROM {}",
            {"term_id": p.term_id, "doc": p.doc, "tf": p.tf, "dl": p.dl},
        )

    def _supersede(
        self, con: duckdb.DuckDBPyConnection, run_id: str | None, specs: Sequence[ClipSpec]
    ) -> None:
        """Drop clips of OTHER runs that overlap any of ``specs`` in time (one timeline)."""
        if not specs:
            return
        self._stage_n += 1
        name = f"_spans_{self._stage_n}"
        con.register(
            name,
            {
                "video_id": _array([c.video_id for c in specs]),
                "start_s": np.asarray([c.start_s for c in specs], dtype=np.float64),
                "end_s": np.asarray([c.end_s for c in specs], dtype=np.float64),
            },
        )
        try:
            self._remove_clips(
                con,
                f"clip_id IN (SELECT c.clip_id FROM clips c JOIN {name} s "
                "ON s.video_id = c.video_id AND c.start_s < s.end_s AND c.end_s > s.start_s "
                "WHERE c.run_id IS DISTINCT FROM ?)",
                [run_id],
            )
        finally:
            con.unregister(name)

    def _remove_clips(self, con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> int:
        """Delete the clips matching ``where`` and everything hanging off them, index included."""
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _gone_clips AS SELECT clip_id FROM clips WHERE {where}",
            params,
        )
        count = int(con.execute("SELECT count(*) FROM _gone_clips").fetchall()[0][0])
        if count == 0:
            return 0
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _gone AS SELECT event_id, doc, doc_len FROM events "
            "WHERE clip_id IN (SELECT clip_id FROM _gone_clips) UNION ALL "
            "SELECT speech_id, doc, doc_len FROM speech "
            "WHERE clip_id IN (SELECT clip_id FROM _gone_clips) UNION ALL "
            "SELECT text_id, doc, doc_len FROM screen_text "
            "WHERE clip_id IN (SELECT clip_id FROM _gone_clips)"
        )
        self._remove_docs(con)
        for table, column in (
            ("thumbnails", "event_id"),
            ("event_characters", "event_id"),
            ("appearances", "event_id"),
            ("causal_links", "cause_event_id"),
            ("causal_links", "effect_event_id"),
        ):
            con.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT event_id FROM _gone)")
        for table in (
            "events", "speech", "screen_text", "clip_characters", "appearances", "causal_links",
            "clips",
        ):  # fmt: skip
            con.execute(f"DELETE FROM {table} WHERE clip_id IN (SELECT clip_id FROM _gone_clips)")
        con.execute("DROP TABLE _gone")
        return count

    def _remove_docs(self, con: duckdb.DuckDBPyConnection) -> None:
        """Take the events in temp table ``_gone`` out of the search index."""
        lo, hi, n, total = con.execute(
            "SELECT min(doc), max(doc), count(*), coalesce(sum(doc_len), 0) FROM _gone"
        ).fetchall()[0]
        if not n:
            return
        # The doc range lets zone maps skip most of the postings table: a clip's docs are
        # allocated together, so its postings sit together.
        gone = "doc BETWEEN ? AND ? AND doc IN (SELECT doc FROM _gone)"
        con.execute(
            "UPDATE terms SET df = terms.df - d.n FROM (SELECT term_id, count(*) AS n FROM "
            f"postings WHERE {gone} GROUP BY term_id) d WHERE terms.term_id = d.term_id",
            [lo, hi],
        )
        con.execute(f"DELETE FROM postings WHERE {gone}", [lo, hi])
        # A document's vectors go with it, in every model's table (videoidx.store.vectors).
        self._vectors_removed = True
        for (table,) in con.execute("SELECT table_name FROM embedding_models").fetchall():
            con.execute(f"DELETE FROM {table} WHERE {gone}", [lo, hi])
        con.execute(
            "UPDATE search_stats SET n_docs = n_docs - ?, total_len = total_len - ?", [n, total]
        )

    def rewrite_clip(
        self,
        stored: StoredClip,
        analysis: ClipAnalysis,
        *,
        status: ClipStatus = ClipStatus.DONE,
        error: str | None = None,
    ) -> None:
        """Replace a stored clip's rows with ``analysis`` (its reply read again), in one
        transaction, keeping what does not come from the reply.

        The clip keeps its id, run and cache key, so its events and characters get the ids they
        had (clip id + the reply's keys). Thumbnails, the consolidated character of each clip
        character and the cross-clip links are kept for the ids that still exist; links whose
        event is gone go with it. A clip that becomes done replaces older runs' clips that
        overlap it, as any done clip does.
        """
        spec = ClipSpec(stored.video_id, stored.clip_index, stored.start_s, stored.end_s)
        with self._tx() as con:
            keep = {"clip_id": stored.clip_id, "video_id": stored.video_id}
            thumbs = con.execute(
                "SELECT * FROM thumbnails WHERE event_id IN "
                "(SELECT event_id FROM events WHERE clip_id = $clip_id)",
                {"clip_id": stored.clip_id},
            ).fetchdf()
            mapping = con.execute(
                "SELECT clip_character_id, character_id FROM clip_characters "
                "WHERE clip_id = $clip_id AND character_id IS NOT NULL",
                {"clip_id": stored.clip_id},
            ).fetchall()
            cross = con.execute(
                "SELECT * FROM causal_links WHERE video_id = $video_id AND clip_id IS NULL AND "
                "(cause_event_id IN (SELECT event_id FROM events WHERE clip_id = $clip_id) OR "
                "effect_event_id IN (SELECT event_id FROM events WHERE clip_id = $clip_id))",
                keep,
            ).fetchdf()
            # Speech and on-screen text do not come from the reply: carried over as they are.
            analysis = _with_senses(con, stored.clip_id, analysis)
            self._remove_clips(con, "clip_id = ?", [stored.clip_id])
            if status == ClipStatus.DONE:
                self._supersede(con, stored.run_id, [spec])
            next_doc = con.execute("SELECT next_doc FROM search_stats").fetchall()[0][0]
            rows = ClipRows(run_id=stored.run_id, next_doc=int(next_doc))
            rows.add(
                ClipWrite(spec, stored.cache_key, analysis, status, error),
                provenance=CLIP_PROVENANCE,
            )
            self._write_rows(con, rows)
            alive = "event_id IN (SELECT event_id FROM events)"
            for name, frame, where in (
                ("thumbnails", thumbs, alive),
                (
                    "causal_links",
                    cross,
                    "cause_event_id IN (SELECT event_id FROM events) "
                    "AND effect_event_id IN (SELECT event_id FROM events)",
                ),
            ):
                if len(frame):
                    self._stage_n += 1
                    staged = f"_kept_{self._stage_n}"
                    con.register(staged, frame)
                    try:
                        con.execute(
                            f"INSERT INTO {name} BY NAME SELECT * FROM {staged} WHERE {where}"
                        )
                    finally:
                        con.unregister(staged)
            if mapping:
                con.execute(
                    "UPDATE clip_characters SET character_id = m.character_id FROM "
                    "(SELECT unnest(?::VARCHAR[]) AS mid, unnest(?::VARCHAR[]) AS character_id) m "
                    "WHERE clip_characters.clip_character_id = m.mid AND m.character_id IN "
                    "(SELECT character_id FROM characters)",
                    [[m for m, _ in mapping], [c for _, c in mapping]],
                )

    def adopt_clip(self, run_id: str, cache_key: str) -> None:
        """Make a cached done clip part of ``run_id`` (a re-run that reuses it pays nothing)."""
        with self._tx() as con:
            rows = con.execute(
                "SELECT clip_id, video_id, clip_index, start_s, end_s FROM clips "
                "WHERE cache_key = ? AND status = ?",
                [cache_key, ClipStatus.DONE],
            ).fetchall()
            for clip_id, video_id, index, start_s, end_s in rows:
                con.execute("UPDATE clips SET run_id = ? WHERE clip_id = ?", [run_id, clip_id])
                self._supersede(con, run_id, [ClipSpec(video_id, index, start_s, end_s)])

    # -- shots, consolidation ----------------------------------------------------------------

    def write_shots(self, video_id: str, cuts: Sequence[ShotCut]) -> None:
        """Replace the video's shot cuts."""
        with self._tx() as con:
            con.execute("DELETE FROM shots WHERE video_id = ?", [video_id])
            self._insert(
                con,
                "shots",
                {
                    "video_id": [video_id] * len(cuts),
                    "frame": [c.frame for c in cuts],
                    "time_s": [c.time_s for c in cuts],
                    "score": [c.score for c in cuts],
                },
            )

    def write_characters(
        self,
        video_id: str,
        groups: Sequence[CharacterGroupLike],
        provenance: str | Sequence[str],
    ) -> list[str]:
        """Replace the video's merged characters; ``member_ids`` are clip character ids.
        ``provenance`` is one for all, or one per group.

        Returns the new character ids, in the order of ``groups``.
        """
        provenances = [provenance] * len(groups) if isinstance(provenance, str) else provenance
        if len(provenances) != len(groups):
            raise StoreError(f"{len(groups)} characters but {len(provenances)} provenances")
        ids = [f"{video_id}:ch{i + 1}" for i in range(len(groups))]
        with self._tx() as con:
            con.execute("DELETE FROM characters WHERE video_id = ?", [video_id])
            con.execute(
                "UPDATE clip_characters SET character_id = NULL WHERE video_id = ?", [video_id]
            )
            self._insert(
                con,
                "characters",
                {
                    "character_id": ids,
                    "video_id": [video_id] * len(groups),
                    "name": [g.name for g in groups],
                    "description": [g.description for g in groups],
                    "first_seen_s": [g.first_seen_s for g in groups],
                    "provenance": list(provenances),
                },
            )
            members = [(cid, m) for cid, g in zip(ids, groups, strict=True) for m in g.member_ids]
            if members:
                con.execute(
                    "UPDATE clip_characters SET character_id = m.cid FROM "
                    "(SELECT unnest(?::VARCHAR[]) AS cid, unnest(?::VARCHAR[]) AS mid) m "
                    "WHERE clip_characters.clip_character_id = m.mid "
                    "AND clip_characters.video_id = ?",
                    [[c for c, _ in members], [m for _, m in members], video_id],
                )
        return ids

    def write_links(self, video_id: str, links: Sequence[LinkLike], provenance: str) -> None:
        """Replace the video's cross-clip causal links (those not written with a clip)."""
        with self._tx() as con:
            con.execute(
                "DELETE FROM causal_links WHERE video_id = ? AND clip_id IS NULL", [video_id]
            )
            wanted = sorted({x for link in links for x in (link.cause_id, link.effect_id)})
            known = {
                r[0]
                for r in con.execute(
                    "SELECT event_id FROM events WHERE video_id = ? "
                    "AND event_id IN (SELECT unnest(?::VARCHAR[]))",
                    [video_id, wanted],
                ).fetchall()
            }
            unknown = [x for x in wanted if x not in known]
            if unknown:
                raise StoreError(
                    f"causal links of video {video_id} name events that are not stored: "
                    f"{unknown[:5]}; nothing was written"
                )
            self._insert(
                con,
                "causal_links",
                {
                    "video_id": [video_id] * len(links),
                    "clip_id": [None] * len(links),
                    "cause_event_id": [x.cause_id for x in links],
                    "effect_event_id": [x.effect_id for x in links],
                    "relation": [x.relation for x in links],
                    "explanation": [x.explanation for x in links],
                    "confidence": [x.confidence for x in links],
                    "provenance": [provenance] * len(links),
                },
            )

    # -- removal, Q&A log --------------------------------------------------------------------

    def replace_video_rows(self, video_id: str) -> int:
        """Drop the video's timeline (clips and all that hangs off them), keeping the video,
        its runs and shots. Returns the number of clips removed."""
        with self._tx() as con:
            return self._remove_clips(con, "video_id = ?", [video_id])

    def copy_to(self, target: str | Path) -> Path:
        """A consistent copy of the whole library in a new DuckDB file ``target`` (tables,
        views, sequences and indexes as of one snapshot), for readers that cannot open this
        file while this process holds it: a notebook's SQL beside a serving page."""
        out = Path(target)
        if out.exists():
            raise StoreError(f"{out} exists; a library copy goes to a new file")
        alias = f"copy_{uuid.uuid4().hex[:12]}"  # ATTACH names are shared by every cursor
        literal = str(out).replace("'", "''")  # ATTACH takes its file as a literal
        try:
            with self._read() as cur:
                source = cur.execute("SELECT current_database()").fetchall()[0][0]
                cur.execute(f"ATTACH '{literal}' AS {alias}")
                try:
                    # One statement, one transaction: every table as of the same moment.
                    cur.execute(f'COPY FROM DATABASE "{source}" TO {alias}')
                finally:
                    cur.execute(f"DETACH {alias}")
        except BaseException:
            for leftover in (out, out.with_name(out.name + ".wal")):
                leftover.unlink(missing_ok=True)  # no half copy that looks like a library
            raise
        return out

    def delete_video(self, video_id: str) -> bool:
        """Remove the video and everything hanging off it; False when it was not stored."""
        with self._tx() as con:
            existed = bool(
                con.execute(
                    "SELECT count(*) FROM videos WHERE video_id = ?", [video_id]
                ).fetchall()[0][0]
            )
            removed = self._delete_video_rows(con, video_id)
            # A logged answer that cites only this video goes with it; one citing others stays.
            con.execute(
                "DELETE FROM qa_log WHERE len(video_ids) > 0 "
                "AND list_filter(video_ids, lambda x: x <> ?) = []",
                [video_id],
            )
            con.execute(
                "UPDATE qa_log SET video_ids = list_filter(video_ids, lambda x: x <> ?) "
                "WHERE list_contains(video_ids, ?)",
                [video_id, video_id],
            )
        return existed or removed > 0

    def _delete_video_rows(self, con: duckdb.DuckDBPyConnection, video_id: str) -> int:
        removed = self._remove_clips(con, "video_id = ?", [video_id])
        # Events without a clip row (only possible through imports) leave the index too.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _gone AS "
            "SELECT event_id, doc, doc_len FROM events WHERE video_id = ? UNION ALL "
            "SELECT speech_id, doc, doc_len FROM speech WHERE video_id = ? UNION ALL "
            "SELECT text_id, doc, doc_len FROM screen_text WHERE video_id = ?",
            [video_id] * 3,
        )
        self._remove_docs(con)
        for table in (
            "characters", "shots", "index_runs", "videos", "causal_links", "events",
            "clip_characters", "event_characters", "appearances", "thumbnails", "speech",
            "screen_text",
        ):  # fmt: skip
            con.execute(f"DELETE FROM {table} WHERE video_id = ?", [video_id])
        return removed

    def import_rows(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
        """Replace one video's rows with ``tables`` (table name -> row dicts), ids kept, search
        postings rebuilt; one transaction. Used by :func:`videoidx.store.export.import_json`."""
        videos = tables.get("videos") or []
        if len(videos) != 1 or not videos[0].get("video_id"):
            raise StoreError("an import needs exactly one video row with a video_id")
        video_id = str(videos[0]["video_id"])
        # Reads hand statuses back as vocabulary members: refuse a file that holds others.
        for table, vocab in (("clips", ClipStatus), ("index_runs", RunStatus)):
            for row in tables.get(table) or []:
                if row.get("status") not in set(vocab):
                    raise StoreError(
                        f"{table} row with status {row.get('status')!r} in the import; expected "
                        f"one of {', '.join(vocab)}: the file was not written by videoidx export"
                    )
        with self._tx() as con:
            self._delete_video_rows(con, video_id)
            next_doc = con.execute("SELECT next_doc FROM search_stats").fetchall()[0][0]
            rows = ClipRows(run_id="", next_doc=int(next_doc))
            events = sorted(
                (dict(e) for e in tables.get("events", [])),
                key=lambda e: (str(e.get("clip_id")), e.get("start_s") or 0.0, e["event_id"]),
            )
            span: dict[str, list[int]] = {}
            for e in events:
                if e.get("video_id") != video_id:
                    raise StoreError(f"event {e.get('event_id')} belongs to another video")
                terms = event_terms(
                    e.get("label") or "", e.get("description") or "", e.get("characters") or (),
                    e.get("objects") or (), e.get("location") or "", e.get("on_screen_text") or "",
                    terms_of=words,
                )  # fmt: skip
                e["doc"], e["doc_len"] = rows.next_doc, len(terms)
                span.setdefault(str(e.get("clip_id")), []).append(rows.next_doc)
                rows.add_tokens(rows.next_doc, terms)
                rows.next_doc += 1
            senses: dict[str, list[dict[str, Any]]] = {}
            for table in ("speech", "screen_text"):
                senses[table] = []
                for r in sorted(
                    (dict(x) for x in tables.get(table, [])),
                    key=lambda x: (str(x.get("clip_id")), x.get("start_s") or 0.0),
                ):
                    if r.get("video_id") != video_id:
                        raise StoreError(f"a {table} row belongs to another video")
                    terms = words(r.get("text") or "")
                    r["doc"], r["doc_len"] = rows.next_doc, len(terms)
                    span.setdefault(str(r.get("clip_id")), []).append(rows.next_doc)
                    rows.add_tokens(rows.next_doc, terms)
                    rows.next_doc += 1
                    senses[table].append(r)
            clips = [
                {**c, "doc_min": min(span[c["clip_id"]]), "doc_max": max(span[c["clip_id"]])}
                if c.get("clip_id") in span
                else dict(c)
                for c in tables.get("clips", [])
            ]
            ordered = {**tables, **senses, "clips": clips, "events": events}
            for table in (
                "videos", "index_runs", "clips", "events", "clip_characters", "characters",
                "event_characters", "appearances", "causal_links", "shots", "thumbnails",
                "speech", "screen_text",
            ):  # fmt: skip
                data = ordered.get(table) or []
                if data:
                    names = list(data[0])
                    self._insert(con, table, {n: [r.get(n) for r in data] for n in names})
            self._index_tokens(con, rows)
        return video_id

    def log_question(
        self,
        question: str,
        answer: str,
        citations: Sequence[Mapping[str, Any]] | Sequence[Any] = (),
        usage: Usage | None = None,
        *,
        video_ids: Sequence[str] = (),
        model: str = "",
    ) -> str:
        """Record a question and its answer; returns the log id."""
        u = usage or Usage()
        qa_id = uuid.uuid4().hex
        with self._tx() as con:
            con.execute(
                "INSERT INTO qa_log VALUES (?, current_timestamp, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    qa_id, question, answer, json.dumps(list(citations), default=_jsonable),
                    list(video_ids), model, u.prompt_tokens, u.completion_tokens, u.cost_usd,
                ],
            )  # fmt: skip
        return qa_id


def _with_senses(
    con: duckdb.DuckDBPyConnection, clip_id: str, analysis: ClipAnalysis
) -> ClipAnalysis:
    """``analysis`` with the clip's stored speech and on-screen text (when it carries none)."""
    if analysis.speech or analysis.screen_text:
        return analysis
    speech = con.execute(
        "SELECT start_s, end_s, text, words, language, confidence, speaker, engine, model "
        "FROM speech WHERE clip_id = ? ORDER BY start_s, speech_id",
        [clip_id],
    ).fetchall()
    texts = con.execute(
        "SELECT start_s, end_s, text, confidence, box_x1, box_y1, box_x2, box_y2, engine "
        "FROM screen_text WHERE clip_id = ? ORDER BY start_s, text_id",
        [clip_id],
    ).fetchall()
    if not speech and not texts:
        return analysis
    segments = [
        SpeechSegment(r[0], r[1], r[2] or "", words_from_json(r[3]), r[4] or "", r[5], r[6] or "")
        for r in speech
    ]
    spans = [
        ScreenText(r[0], r[1], r[2] or "", r[3], None if r[4] is None else (r[4], r[5], r[6], r[7]))
        for r in texts
    ]
    return dataclasses.replace(
        analysis,
        speech=segments,
        speech_engine=speech[0][7] if speech else "",
        speech_model=speech[0][8] if speech else "",
        screen_text=spans,
        text_engine=texts[0][8] if texts else "",
    )


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch's rows are built and inserted: they are
    hundreds of thousands of tuples and lists holding no cycles, and the collector's passes
    over them took a third of the time spent building them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _clip_id(item: ClipWrite) -> str:
    return clip_id_for(item.clip, item.cache_key)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # A failed COMMIT has already ended the transaction; ROLLBACK then has nothing to undo.
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def _close_abandoned_runs(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """Close as ``interrupted`` the runs left ``running`` by a process that is gone."""
    with _live_runs_lock:
        live = sorted(_live_runs)
    try:
        con.execute(
            "UPDATE index_runs SET status = ?, finished_at = current_timestamp, "
            "error = coalesce(error, ?) "
            "WHERE status = ? AND NOT list_contains(?::VARCHAR[], run_id)",
            [RunStatus.INTERRUPTED, INTERRUPTED_ERROR, RunStatus.RUNNING, live],
        )
    except duckdb.Error as exc:
        # A full disk may refuse even this; the store is still readable, and the next
        # successful open closes them.
        log.warning("could not close interrupted runs in %s: %s", path, exc)


def _read_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return int(
        con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]
    )
