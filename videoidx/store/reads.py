"""The store's read side: every query here runs on its own cursor and sees committed rows only.

Split from ``store.py`` so the write path (transactions, replacement rules) reads on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import duckdb

from videoidx.errors import StoreError
from videoidx.store.records import (
    ClipCharacter,
    EventBrief,
    IndexSize,
    RunSummary,
    StoredAppearance,
    StoredCharacter,
    StoredClip,
    StoredEvent,
    StoredLink,
    StoredReply,
    StoredSaid,
    VideoSummary,
)
from videoidx.types import ShotCut, Usage, VideoInfo
from videoidx.vocab import ClipStatus, RunStatus

_EVENT_COLUMNS = (
    "event_id, video_id, clip_index, start_s, end_s, label, description, characters, objects, "
    "location, on_screen_text, confidence"
)
_CLIP_COLUMNS = (
    "c.clip_id, c.video_id, c.run_id, c.clip_index, c.start_s, c.end_s, c.status, c.error, "
    "c.cache_key, c.summary, c.raw_reply, "
    "(SELECT count(*) FROM events e WHERE e.clip_id = c.clip_id)"
)


def event_from_row(row: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(
        id=row[0],
        video_id=row[1],
        clip_index=int(row[2]),
        start_s=float(row[3]),
        end_s=float(row[4]),
        label=row[5] or "",
        description=row[6] or "",
        characters=tuple(row[7] or ()),
        objects=tuple(row[8] or ()),
        location=row[9] or "",
        on_screen_text=row[10] or "",
        confidence=row[11],
    )


def _clip_from_row(row: tuple[Any, ...]) -> StoredClip:
    return StoredClip(
        clip_id=row[0],
        video_id=row[1],
        run_id=row[2],
        clip_index=int(row[3]),
        start_s=float(row[4]),
        end_s=float(row[5]),
        status=ClipStatus(row[6]),
        error=row[7],
        cache_key=row[8],
        summary=row[9] or "",
        raw_reply=row[10] or "",
        event_count=int(row[11]),
    )


class StoreReads:
    """Read methods of :class:`~videoidx.store.Store`; ``_read`` yields a private cursor."""

    def _read(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        raise NotImplementedError

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._read() as cur:
            return cur.execute(sql, params or []).fetchall()

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run any read query on a private cursor: the escape hatch for notebooks, tests and
        ad-hoc checks only.

        Code of the package, the page, the indexers and the benchmarks reads through the named
        methods of this class instead (a test fails on ``.sql(`` outside ``videoidx/store/``),
        so the store's schema stays this package's business and a query has one owner."""
        return self._rows(query, params)

    def list_videos(self) -> list[VideoSummary]:
        rows = self._rows(
            f"""
            SELECT v.video_id, v.title, v.path, v.duration_s,
                   (SELECT count(*) FROM clips c WHERE c.video_id = v.video_id),
                   (SELECT count(*) FROM clips c WHERE c.video_id = v.video_id
                        AND c.status = '{ClipStatus.FAILED}'),
                   (SELECT count(*) FROM events e WHERE e.video_id = v.video_id),
                   (SELECT r.status FROM index_runs r WHERE r.video_id = v.video_id
                        ORDER BY r.started_at DESC LIMIT 1)
            FROM videos v ORDER BY v.added_at, v.title
            """
        )
        return [
            VideoSummary(
                r[0],
                r[1] or "",
                r[2] or "",
                float(r[3] or 0),
                r[4],
                r[5],
                r[6],
                RunStatus(r[7]) if r[7] else None,
            )
            for r in rows
        ]

    def video(self, video_id: str) -> VideoInfo | None:
        rows = self._rows(
            "SELECT video_id, path, title, duration_s, fps_avg, fps_nominal, frame_count, "
            "width_px, height_px, rotation_deg, codec, has_audio, start_offset_s, size_bytes, "
            "variable_frame_rate FROM videos WHERE video_id = ?",
            [video_id],
        )
        return VideoInfo(*rows[0]) if rows else None

    def require_video(self, video_id: str) -> VideoInfo:
        """The video, or the one StoreError every way in (CLI, API, library) raises for it."""
        info = self.video(video_id)
        if info is None:
            raise StoreError(f"video {video_id} is not in the store; `videoidx videos` lists them")
        return info

    def clips(self, video_id: str) -> list[StoredClip]:
        rows = self._rows(
            f"SELECT {_CLIP_COLUMNS} FROM clips c WHERE c.video_id = ? "
            "ORDER BY c.start_s, c.clip_index",
            [video_id],
        )
        return [_clip_from_row(r) for r in rows]

    def clip_replies(self, video_id: str) -> list[StoredReply]:
        """The video's clips that kept a raw reply, with their run's indexer and settings."""
        rows = self._rows(
            f"SELECT {_CLIP_COLUMNS}, c.finish_reason, c.reasoning, c.model, c.prompt_tokens, "
            "c.completion_tokens, c.reasoning_tokens, c.cached_tokens, c.cost_usd, c.requests, "
            "r.indexer, r.settings FROM clips c LEFT JOIN index_runs r USING (run_id) "
            "WHERE c.video_id = ? AND coalesce(c.raw_reply, '') <> '' "
            "ORDER BY c.start_s, c.clip_index",
            [video_id],
        )
        out = []
        for r in rows:
            n = len(r) - 11
            usage = Usage(*(v or 0 for v in r[n + 3 : n + 9]))
            out.append(
                StoredReply(
                    clip=_clip_from_row(r[:n]),
                    finish_reason=r[n] or "",
                    reasoning=r[n + 1] or "",
                    model=r[n + 2] or "",
                    usage=usage,
                    run_indexer=r[n + 9],
                    run_settings=json.loads(r[n + 10]) if r[n + 10] else {},
                )
            )
        return out

    def cached_clip(self, cache_key: str) -> StoredClip | None:
        """The done clip stored under ``cache_key``, if any (failed clips are retried)."""
        rows = self._rows(
            f"SELECT {_CLIP_COLUMNS} FROM clips c "
            f"WHERE c.cache_key = ? AND c.status = '{ClipStatus.DONE}' "
            "LIMIT 1",
            [cache_key],
        )
        return _clip_from_row(rows[0]) if rows else None

    def events(
        self,
        video_id: str,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        label: str | None = None,
    ) -> list[StoredEvent]:
        """The video's events in time order, optionally those overlapping [start_s, end_s]."""
        rows = self._rows(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE video_id = ? "
            "AND (? IS NULL OR end_s >= ?) AND (? IS NULL OR start_s <= ?) "
            "AND (? IS NULL OR lower(label) = lower(?)) ORDER BY start_s, end_s, event_id",
            [video_id, start_s, start_s, end_s, end_s, label, label],
        )
        return [event_from_row(r) for r in rows]

    def event(self, event_id: str) -> StoredEvent | None:
        rows = self._rows(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id = ?", [event_id])
        return event_from_row(rows[0]) if rows else None

    def event_briefs(self, video_id: str) -> list[EventBrief]:
        rows = self._rows(
            "SELECT event_id, clip_index, start_s, end_s, label, description FROM events "
            "WHERE video_id = ? ORDER BY start_s, event_id",
            [video_id],
        )
        return [EventBrief(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "") for r in rows]

    def clip_characters(self, video_id: str) -> list[ClipCharacter]:
        rows = self._rows(
            "SELECT clip_character_id, clip_index, name, description, first_seen_s "
            "FROM clip_characters WHERE video_id = ? ORDER BY clip_index, key",
            [video_id],
        )
        return [ClipCharacter(r[0], r[1], r[2] or "", r[3] or "", r[4]) for r in rows]

    def characters(self, video_id: str) -> list[StoredCharacter]:
        """Merged characters after consolidation (empty before it ran)."""
        rows = self._rows(
            "SELECT c.character_id, c.video_id, c.name, c.description, c.first_seen_s, "
            "c.provenance, list(cc.clip_character_id ORDER BY cc.clip_character_id) "
            "FILTER (WHERE cc.clip_character_id IS NOT NULL) "
            "FROM characters c LEFT JOIN clip_characters cc USING (character_id) "
            "WHERE c.video_id = ? GROUP BY ALL ORDER BY c.first_seen_s NULLS LAST, c.name",
            [video_id],
        )
        return [
            StoredCharacter(r[0], r[1], r[2] or "", r[3] or "", r[4], r[5] or "", tuple(r[6] or ()))
            for r in rows
        ]

    def character_names(self, video_ids: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
        """``(video_id, name, id)`` of every character as clips saw it (a clip character id)
        and after merging (a character id): a cheap way to find who a question names."""
        rows = self._rows(
            "SELECT video_id, name, id FROM ("
            "SELECT video_id, name, clip_character_id AS id FROM clip_characters UNION ALL "
            "SELECT video_id, name, character_id AS id FROM characters) "
            "WHERE name <> '' AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], video_id)) "
            "ORDER BY video_id, name, id",
            [None if video_ids is None else list(video_ids)] * 2,
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def appearances(
        self, video_id: str, *, character_id: str | None = None
    ) -> list[StoredAppearance]:
        """Appearances in time order; ``character_id`` may be merged or per-clip."""
        rows = self._rows(
            "SELECT a.video_id, a.clip_character_id, cc.character_id, "
            "coalesce(ch.name, cc.name), a.event_id, a.start_s, a.end_s, "
            "a.box_x1, a.box_y1, a.box_x2, a.box_y2 FROM appearances a "
            "LEFT JOIN clip_characters cc USING (clip_character_id) "
            "LEFT JOIN characters ch ON ch.character_id = cc.character_id "
            "WHERE a.video_id = ? AND (? IS NULL OR cc.character_id = ? "
            "OR a.clip_character_id = ?) ORDER BY a.start_s, a.clip_character_id",
            [video_id, character_id, character_id, character_id],
        )
        return [
            StoredAppearance(
                r[0],
                r[1],
                r[2],
                r[3] or "",
                r[4],
                r[5],
                r[6],
                None if r[7] is None else (r[7], r[8], r[9], r[10]),
            )
            for r in rows
        ]

    def links(self, video_id: str) -> list[StoredLink]:
        rows = self._rows(
            "SELECT l.cause_event_id, l.effect_event_id, l.relation, l.explanation, "
            "l.confidence, l.clip_id, l.provenance FROM causal_links l "
            "LEFT JOIN events e ON e.event_id = l.cause_event_id "
            "WHERE l.video_id = ? ORDER BY e.start_s, l.cause_event_id, l.effect_event_id",
            [video_id],
        )
        return [
            StoredLink(r[0], r[1], r[2] or "", r[3] or "", r[4], r[5], r[6] or "") for r in rows
        ]

    def shots(self, video_id: str) -> list[ShotCut]:
        rows = self._rows(
            "SELECT frame, time_s, score FROM shots WHERE video_id = ? ORDER BY time_s", [video_id]
        )
        return [ShotCut(int(r[0]), float(r[1]), float(r[2] or 0.0)) for r in rows]

    def speech(self, video_id: str) -> list[StoredSaid]:
        """The video's spoken segments in time order."""
        rows = self._rows(
            "SELECT speech_id, start_s, end_s, text FROM speech WHERE video_id = ? "
            "ORDER BY start_s, speech_id",
            [video_id],
        )
        return [StoredSaid(r[0], video_id, "speech", r[1], r[2], r[3] or "") for r in rows]

    def screen_texts(self, video_id: str) -> list[StoredSaid]:
        """The video's spans of on-screen text in time order."""
        rows = self._rows(
            "SELECT text_id, start_s, end_s, text FROM screen_text WHERE video_id = ? "
            "ORDER BY start_s, text_id",
            [video_id],
        )
        return [StoredSaid(r[0], video_id, "screen_text", r[1], r[2], r[3] or "") for r in rows]

    def last_run_settings(self, video_id: str) -> dict[str, Any]:
        """The flat settings the video's latest run was started with ({} before any run)."""
        rows = self._rows(
            "SELECT settings FROM index_runs WHERE video_id = ? ORDER BY started_at DESC LIMIT 1",
            [video_id],
        )
        try:
            out = json.loads(rows[0][0]) if rows and rows[0][0] else {}
        except ValueError:
            return {}
        return out if isinstance(out, dict) else {}

    def previous_run_status(self, video_id: str, run_id: str) -> RunStatus | None:
        """How the video's latest run other than ``run_id`` ended (or ``running``); None when
        ``run_id`` is its first."""
        rows = self._rows(
            "SELECT status FROM index_runs WHERE video_id = ? AND run_id <> ? "
            "ORDER BY started_at DESC LIMIT 1",
            [video_id, run_id],
        )
        return RunStatus(rows[0][0]) if rows else None

    def cost_by_video(self) -> dict[str, float]:
        """video_id -> what all its runs cost (USD), for every video that has a run."""
        rows = self._rows(
            "SELECT video_id, coalesce(sum(cost_usd), 0) FROM index_runs GROUP BY video_id"
        )
        return {r[0]: float(r[1]) for r in rows}

    def library_fingerprint(self) -> str:
        """Changes whenever a video, clip, run or character is added, finished or removed."""
        row = self._rows(
            "SELECT (SELECT count(*) FROM videos), (SELECT count(*) FROM clips), "
            "(SELECT count(*) FROM index_runs), "
            "(SELECT count(*) FROM index_runs WHERE finished_at IS NOT NULL), "
            "(SELECT count(*) FROM characters)"
        )[0]
        return ":".join(str(n) for n in row)

    def term_document_frequencies(self) -> dict[str, int]:
        """Index term -> how many documents hold it (the BM25 index's ``df``); terms are
        stemmed and folded (:func:`videoidx.store.tokenize.tokenize` of a word gives its key)."""
        return {str(t): int(df) for t, df in self._rows("SELECT term, df FROM terms")}

    def index_size(self) -> IndexSize:
        """How large the timeline and its search index are."""
        events, docs, postings = self._rows(
            "SELECT (SELECT count(*) FROM events), (SELECT n_docs FROM search_stats), "
            "(SELECT count(*) FROM postings)"
        )[0]
        return IndexSize(events=int(events), search_docs=int(docs or 0), postings=int(postings))

    def thumbnail(self, event_id: str) -> bytes | None:
        rows = self._rows("SELECT jpeg FROM thumbnails WHERE event_id = ?", [event_id])
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def run_summary(self, run_id: str) -> RunSummary | None:
        rows = self._rows(
            f"""
            SELECT r.run_id, r.video_id, r.indexer, r.model, r.provider, r.prompt_version,
                   r.status, r.error,
                   (SELECT count(*) FROM clips c WHERE c.run_id = r.run_id
                        AND c.status = '{ClipStatus.DONE}'),
                   (SELECT count(*) FROM clips c WHERE c.run_id = r.run_id
                        AND c.status = '{ClipStatus.FAILED}'),
                   (SELECT count(*) FROM events e JOIN clips c USING (clip_id)
                        WHERE c.run_id = r.run_id),
                   r.prompt_tokens, r.completion_tokens, r.cost_usd
            FROM index_runs r WHERE r.run_id = ?
            """,
            [run_id],
        )
        if not rows:
            return None
        r = rows[0]
        return RunSummary(
            r[0], r[1], r[2] or "", r[3] or "", r[4] or "", r[5] or "", r[6] or "", r[7],
            r[8], r[9], r[10], int(r[11] or 0), int(r[12] or 0), float(r[13] or 0.0),
        )  # fmt: skip

    def questions(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent Q&A log entries, newest first."""
        with self._read() as cur:
            cur.execute(
                "SELECT qa_id, asked_at, question, answer, citations, video_ids, model, "
                "prompt_tokens, completion_tokens, cost_usd FROM qa_log "
                "ORDER BY asked_at DESC LIMIT ?",
                [limit],
            )
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def iter_table(self, sql: str, params: list[Any]) -> Iterator[dict[str, Any]]:
        """Rows of a query as dicts (used by the JSON export)."""
        with self._read() as cur:
            cur.execute(sql, params)
            names = [d[0] for d in cur.description or []]
            rows = cur.fetchall()
        for r in rows:
            yield dict(zip(names, r, strict=True))
