"""Versioned schema migrations, applied when a store is opened.

Migrations are plain functions in :data:`MIGRATIONS`, numbered by their position (1-based); each
runs in its own transaction and is recorded in ``schema_migrations``. Opening a file whose highest
recorded version is beyond what this code knows raises :class:`SchemaVersionError`: older code
must not write rows in a shape it does not understand.

The schema (version 1), one row per thing, times in absolute seconds:

``videos``            one row per video (``video_id`` is the content hash)
``index_runs``        one row per indexing run: indexer, model, provider, prompt version, settings
                      (JSON), tokens, cost, status
``clips``             one row per analysed clip: bounds, status, error, cache key, raw reply, usage
``events``            one row per event; ``doc`` is the internal search key, ``doc_len`` its length
``clip_characters``   characters as one clip saw them, mapped to ``characters`` by consolidation
``characters``        per-video characters after consolidation, with provenance
``event_characters``  which clip characters take part in which event
``appearances``       a clip character in an event or a time span, optional pixel box
``causal_links``      cause event -> effect event; ``clip_id`` is NULL for cross-clip links
``shots``             hard cuts (first frame of each new shot)
``thumbnails``        one small JPEG per event
``qa_log``            questions, answers, citations and usage
``terms``, ``postings``, ``search_stats``   the incremental BM25 index (see ``search.py``)
``timeline``          a view: events with video titles and character names, for ad-hoc SQL

Version 2 (speech and on-screen text, stored with their clip and searchable like events):

``speech``            one row per spoken segment: absolute ``start_s``/``end_s``, text, ``words``
                      (JSON list of ``{start_s, end_s, text, probability}``), language,
                      confidence, engine, model, speaker; ``doc``/``doc_len`` as for events
``screen_text``       one row per span of on-screen text: times, text, confidence, box, engine
``search_docs``       a view: every searchable row (event, speech, screen_text) with its ``kind``

Version 3 (stemmed, accent-folded terms): no new tables; ``terms``, ``postings`` and
``search_stats`` are rebuilt for every document with the tokenizer of
:mod:`videoidx.store.tokenize` (:func:`videoidx.store.reindex.rebuild_keyword_index`), so a
store indexed before stemming finds "stopped" when asked for "stops".

Version 4 (embeddings; see :mod:`videoidx.store.vectors`):

``embedding_models``  one row per model key (embedder, model, dims) and the name of its table
``vectors_<n>``       one table per model key, created when its first vector is written:
                      ``(doc, video_id, vector FLOAT[dims])``, keyed by the search doc number
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from videoidx.errors import SchemaVersionError, StoreError
from videoidx.store.reindex import rebuild_keyword_index

Migration = Callable[[duckdb.DuckDBPyConnection], None]


def _m001_initial(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE videos (
            video_id VARCHAR PRIMARY KEY, path VARCHAR, title VARCHAR, duration_s DOUBLE,
            fps_avg DOUBLE, fps_nominal DOUBLE, frame_count BIGINT, width_px INTEGER,
            height_px INTEGER, rotation_deg INTEGER, codec VARCHAR, has_audio BOOLEAN,
            start_offset_s DOUBLE, size_bytes BIGINT, variable_frame_rate BOOLEAN,
            added_at TIMESTAMP DEFAULT current_timestamp
        );
        CREATE TABLE index_runs (
            run_id VARCHAR PRIMARY KEY, video_id VARCHAR NOT NULL, indexer VARCHAR,
            model VARCHAR, provider VARCHAR, prompt_version VARCHAR, settings VARCHAR,
            status VARCHAR, error VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
            prompt_tokens BIGINT DEFAULT 0, completion_tokens BIGINT DEFAULT 0,
            reasoning_tokens BIGINT DEFAULT 0, cached_tokens BIGINT DEFAULT 0,
            cost_usd DOUBLE DEFAULT 0, requests BIGINT DEFAULT 0
        );
        CREATE TABLE clips (
            clip_id VARCHAR PRIMARY KEY, video_id VARCHAR NOT NULL, run_id VARCHAR,
            clip_index INTEGER, start_s DOUBLE, end_s DOUBLE, status VARCHAR, error VARCHAR,
            cache_key VARCHAR, summary VARCHAR, raw_reply VARCHAR, reasoning VARCHAR,
            model VARCHAR, finish_reason VARCHAR, dropped_items INTEGER, clamped_items INTEGER,
            prompt_tokens BIGINT, completion_tokens BIGINT, reasoning_tokens BIGINT,
            cached_tokens BIGINT, cost_usd DOUBLE, requests BIGINT, doc_min BIGINT,
            doc_max BIGINT, written_at TIMESTAMP
        );
        CREATE TABLE events (
            event_id VARCHAR PRIMARY KEY, doc BIGINT NOT NULL, video_id VARCHAR NOT NULL,
            clip_id VARCHAR, clip_index INTEGER, key VARCHAR, start_s DOUBLE, end_s DOUBLE,
            label VARCHAR, description VARCHAR, characters VARCHAR[], objects VARCHAR[],
            location VARCHAR, on_screen_text VARCHAR, confidence DOUBLE, doc_len INTEGER
        );
        CREATE TABLE clip_characters (
            clip_character_id VARCHAR PRIMARY KEY, video_id VARCHAR NOT NULL, clip_id VARCHAR,
            clip_index INTEGER, key VARCHAR, name VARCHAR, description VARCHAR,
            first_seen_s DOUBLE, character_id VARCHAR
        );
        CREATE TABLE characters (
            character_id VARCHAR PRIMARY KEY, video_id VARCHAR NOT NULL, name VARCHAR,
            description VARCHAR, first_seen_s DOUBLE, provenance VARCHAR
        );
        CREATE TABLE event_characters (
            event_id VARCHAR NOT NULL, clip_character_id VARCHAR NOT NULL,
            video_id VARCHAR NOT NULL, clip_id VARCHAR
        );
        CREATE TABLE appearances (
            video_id VARCHAR NOT NULL, clip_id VARCHAR, clip_character_id VARCHAR,
            event_id VARCHAR, start_s DOUBLE, end_s DOUBLE, box_x1 DOUBLE, box_y1 DOUBLE,
            box_x2 DOUBLE, box_y2 DOUBLE
        );
        CREATE TABLE causal_links (
            video_id VARCHAR NOT NULL, clip_id VARCHAR, cause_event_id VARCHAR,
            effect_event_id VARCHAR, relation VARCHAR, explanation VARCHAR, confidence DOUBLE,
            provenance VARCHAR
        );
        CREATE TABLE shots (
            video_id VARCHAR NOT NULL, frame BIGINT, time_s DOUBLE, score DOUBLE
        );
        CREATE TABLE thumbnails (
            event_id VARCHAR PRIMARY KEY, video_id VARCHAR NOT NULL, time_s DOUBLE,
            width_px INTEGER, height_px INTEGER, jpeg BLOB
        );
        CREATE TABLE qa_log (
            qa_id VARCHAR PRIMARY KEY, asked_at TIMESTAMP, question VARCHAR, answer VARCHAR,
            citations VARCHAR, video_ids VARCHAR[], model VARCHAR, prompt_tokens BIGINT,
            completion_tokens BIGINT, cost_usd DOUBLE
        );
        CREATE TABLE terms (term_id INTEGER PRIMARY KEY, term VARCHAR UNIQUE, df BIGINT);
        CREATE TABLE postings (term_id INTEGER, doc BIGINT, tf INTEGER, dl INTEGER);
        CREATE INDEX postings_term ON postings (term_id);
        CREATE TABLE search_stats (n_docs BIGINT, total_len BIGINT, next_doc BIGINT);
        INSERT INTO search_stats VALUES (0, 0, 1);
        CREATE SEQUENCE term_seq START 1;
        CREATE VIEW timeline AS
            SELECT e.event_id, e.video_id, v.title, e.clip_index, e.start_s, e.end_s, e.label,
                   e.description, e.characters, e.objects, e.location, e.on_screen_text,
                   e.confidence
            FROM events e LEFT JOIN videos v USING (video_id);
        """
    )


def _m002_speech_and_screen_text(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE speech (
            speech_id VARCHAR PRIMARY KEY, doc BIGINT NOT NULL, video_id VARCHAR NOT NULL,
            clip_id VARCHAR, clip_index INTEGER, start_s DOUBLE, end_s DOUBLE, text VARCHAR,
            words VARCHAR, language VARCHAR, confidence DOUBLE, engine VARCHAR, model VARCHAR,
            speaker VARCHAR, doc_len INTEGER
        );
        CREATE TABLE screen_text (
            text_id VARCHAR PRIMARY KEY, doc BIGINT NOT NULL, video_id VARCHAR NOT NULL,
            clip_id VARCHAR, clip_index INTEGER, start_s DOUBLE, end_s DOUBLE, text VARCHAR,
            confidence DOUBLE, box_x1 DOUBLE, box_y1 DOUBLE, box_x2 DOUBLE, box_y2 DOUBLE,
            engine VARCHAR, doc_len INTEGER
        );
        CREATE VIEW search_docs AS
            SELECT doc, 'event' AS kind, event_id AS item_id, video_id, clip_id, start_s, end_s,
                   label, description FROM events
            UNION ALL
            SELECT doc, 'speech', speech_id, video_id, clip_id, start_s, end_s, text, ''
            FROM speech
            UNION ALL
            SELECT doc, 'screen_text', text_id, video_id, clip_id, start_s, end_s, text, ''
            FROM screen_text;
        """
    )


def _m003_stemmed_terms(con: duckdb.DuckDBPyConnection) -> None:
    rebuild_keyword_index(con)


def _m004_embeddings(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE embedding_models (
            model_key VARCHAR PRIMARY KEY, table_name VARCHAR UNIQUE NOT NULL,
            embedder VARCHAR, model VARCHAR, dims INTEGER NOT NULL,
            created_at TIMESTAMP DEFAULT current_timestamp
        );
        CREATE SEQUENCE embedding_model_seq START 1;
        """
    )


MIGRATIONS: list[Migration] = [
    _m001_initial,
    _m002_speech_and_screen_text,
    _m003_stemmed_terms,
    _m004_embeddings,
]
"""Append new migrations here; never edit or reorder one that has shipped."""

LATEST_VERSION = len(MIGRATIONS)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration recorded in the file (0 for a new file)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    rows = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
    return int(rows[0][0])


def migrate(con: duckdb.DuckDBPyConnection, path: str) -> int:
    """Bring the file at ``path`` up to :data:`LATEST_VERSION`; return the version it is at."""
    version = current_version(con)
    check_version(version, path)
    for number in range(version + 1, LATEST_VERSION + 1):
        step = MIGRATIONS[number - 1]
        con.execute("BEGIN TRANSACTION")
        try:
            step(con)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp)",
                [number, step.__name__.lstrip("_")],
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise StoreError(f"migrating {path} to schema version {number} failed: {exc}") from exc
    return LATEST_VERSION


def check_version(version: int, path: str) -> None:
    """Refuse files written by a newer videoidx."""
    if version > LATEST_VERSION:
        raise SchemaVersionError(
            f"{path} uses store schema version {version}, but this videoidx only knows up to "
            f"version {LATEST_VERSION}; upgrade videoidx (pip install -U videoidx) to open it"
        )
