"""Rebuild the keyword index (``terms``, ``postings``, ``search_stats``) from the stored rows.

The incremental index (see :mod:`videoidx.store.search`) is only ever added to and taken from
clip by clip; when the tokenizer changes, every document's terms change at once, so a migration
re-tokenizes every event, speech segment and on-screen text span and writes the index anew.
Doc numbers and ``next_doc`` are kept (rows point at them); ``doc_len`` and the corpus stats
are recomputed, since folding can change how many terms a text has.

Rows are read in doc-number pages so a store with millions of documents is rebuilt in bounded
Python memory; the staged terms live in a DuckDB temp table, which spills to disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import numpy as np

from videoidx.store.rows import event_terms
from videoidx.store.tokenize import tokenize

PAGE_DOCS = 20_000
"""Documents tokenized per round trip."""

# (table, the columns read after ``doc``); events use every field a user may search for.
_SOURCES = (
    ("events", "label, description, characters, objects, location, on_screen_text"),
    ("speech", "text"),
    ("screen_text", "text"),
)


def rebuild_keyword_index(
    con: duckdb.DuckDBPyConnection, terms_of: Callable[[str], list[str]] = tokenize
) -> None:
    """Re-tokenize every document with ``terms_of`` and replace the index; run it inside the
    caller's transaction (a migration's), so a failure leaves the old index whole."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _reindex (doc BIGINT, term VARCHAR, tf INTEGER, dl INTEGER)"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _reindex_len (doc BIGINT, dl INTEGER)")
    for table, columns in _SOURCES:
        for rows in _pages(con, table, columns):
            _stage(con, table, rows, terms_of)
        con.execute(
            f"UPDATE {table} SET doc_len = l.dl FROM _reindex_len l WHERE {table}.doc = l.doc"
        )
        con.execute("DELETE FROM _reindex_len")
    con.execute("DELETE FROM postings")
    con.execute("DELETE FROM terms")
    # Term ids start again from 1, as in a store indexed from scratch with this tokenizer.
    con.execute("DROP SEQUENCE term_seq")
    con.execute("CREATE SEQUENCE term_seq START 1")
    con.execute(
        "INSERT INTO terms SELECT nextval('term_seq'), term, df FROM "
        "(SELECT term, count(*) AS df FROM _reindex GROUP BY term) ORDER BY term"
    )
    con.execute(
        "INSERT INTO postings SELECT t.term_id, r.doc, r.tf, r.dl "
        "FROM _reindex r JOIN terms t USING (term) ORDER BY r.doc, t.term_id"
    )
    con.execute(
        "UPDATE search_stats SET n_docs = d.n, total_len = d.total FROM (SELECT count(*) AS n, "
        "coalesce(sum(doc_len), 0) AS total FROM (SELECT doc_len FROM events UNION ALL "
        "SELECT doc_len FROM speech UNION ALL SELECT doc_len FROM screen_text)) d"
    )
    con.execute("DROP TABLE _reindex")
    con.execute("DROP TABLE _reindex_len")


def _pages(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> Iterator[list[Any]]:
    """The table's rows in doc order, a page at a time (doc ranges, not an open cursor: the
    same connection writes between pages)."""
    lo, hi = con.execute(f"SELECT min(doc), max(doc) FROM {table}").fetchall()[0]
    if lo is None:
        return
    for first in range(int(lo), int(hi) + 1, PAGE_DOCS):
        rows = con.execute(
            f"SELECT doc, {columns} FROM {table} WHERE doc >= ? AND doc < ? ORDER BY doc",
            [first, first + PAGE_DOCS],
        ).fetchall()
        if rows:
            yield rows


def _stage(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[Any],
    terms_of: Callable[[str], list[str]],
) -> None:
    docs: list[int] = []
    terms: list[str] = []
    lens: list[int] = []
    for row in rows:
        if table == "events":
            found = event_terms(
                row[1] or "", row[2] or "", row[3] or (), row[4] or (), row[5] or "",
                row[6] or "", terms_of=terms_of,
            )  # fmt: skip
        else:
            found = terms_of(row[1] or "")
        docs.append(int(row[0]))
        lens.append(len(found))
        terms.extend(found)
    repeat = np.asarray(lens, dtype=np.int64)
    tokens = {
        "doc": np.repeat(np.asarray(docs, dtype=np.int64), repeat),
        "term": np.asarray(terms, dtype=object),
        "dl": np.repeat(np.asarray(lens, dtype=np.int32), repeat),
    }
    con.register("_reindex_tokens", tokens)
    con.register("_reindex_lens", {"doc": np.asarray(docs, dtype=np.int64), "dl": repeat})
    try:
        con.execute(
            "INSERT INTO _reindex SELECT doc, term, count(*)::INTEGER, any_value(dl) "
            "FROM _reindex_tokens GROUP BY term, doc"
        )
        con.execute("INSERT INTO _reindex_len SELECT doc, dl::INTEGER FROM _reindex_lens")
    finally:
        con.unregister("_reindex_tokens")
        con.unregister("_reindex_lens")
