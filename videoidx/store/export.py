"""Exports of one video's timeline: JSON (re-importable), WebVTT, SRT, WebVTT chapters, Parquet.

* JSON: a versioned document (``format: videoidx-timeline``, ``version``) holding the video, its
  runs, clips (with raw replies), events, characters, appearances, causal links, shots and
  thumbnails (base64). :func:`import_json` replaces the video's rows with the document's, ids
  included, and rebuilds its search postings, so exporting again gives the same document.
* WebVTT / SRT: one cue per event (``label`` then the description), times ``HH:MM:SS.mmm`` /
  ``HH:MM:SS,mmm``. A cue shorter than :data:`MIN_CUE_S` is stretched so players show it.
* Chapters: WebVTT chapters from the shot cuts, or from the clips when no shots are stored.
* Parquet: one file per table (``videos.parquet``, ``events.parquet``, ...) in a directory,
  holding this video's rows, and one per embedding model (``vectors_N.parquet``: model key, kind,
  item id, doc and vector of each of the video's documents), for analysis beside the timeline;
  the keyword index tables are derived data and are not exported.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from videoidx.errors import StoreError
from videoidx.store.store import Store
from videoidx.store.vectors import models as vector_models

FORMAT = "videoidx-timeline"
VERSION = 1
MIN_CUE_S = 0.5

# (table, JSON key, columns left out because they are internal search bookkeeping)
_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("index_runs", "runs", ()),
    ("clips", "clips", ("doc_min", "doc_max")),
    ("events", "events", ("doc", "doc_len")),
    ("clip_characters", "clip_characters", ()),
    ("characters", "characters", ()),
    ("event_characters", "event_characters", ()),
    ("appearances", "appearances", ()),
    ("causal_links", "causal_links", ()),
    ("shots", "shots", ()),
    ("thumbnails", "thumbnails", ()),
    ("speech", "speech", ("doc", "doc_len")),
    ("screen_text", "screen_text", ("doc", "doc_len")),
)
_ORDER = {
    "index_runs": "started_at, run_id",
    "clips": "start_s, clip_id",
    "events": "start_s, event_id",
    "clip_characters": "clip_character_id",
    "characters": "character_id",
    "event_characters": "event_id, clip_character_id",
    "appearances": "start_s, clip_character_id, event_id",
    "causal_links": "cause_event_id, effect_event_id, relation",
    "shots": "time_s",
    "thumbnails": "event_id",
    "speech": "start_s, speech_id",
    "screen_text": "start_s, text_id",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _rows(store: Store, table: str, video_id: str, skip: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = store.iter_table(
        f"SELECT * FROM {table} WHERE video_id = ? ORDER BY {_ORDER.get(table, 'ALL')}",
        [video_id],
    )
    return [{k: _jsonable(v) for k, v in r.items() if k not in skip} for r in rows]


def timeline_document(store: Store, video_id: str) -> dict[str, Any]:
    """The whole stored timeline of one video as a JSON-ready dict."""
    videos = _rows(store, "videos", video_id, ())
    if not videos:
        raise StoreError(
            f"video {video_id} is not in store {store.path}; `videoidx videos` lists them"
        )
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "video": videos[0]}
    for table, key, skip in _TABLES:
        doc[key] = _rows(store, table, video_id, skip)
    return doc


def speech_segments(store: Store, video_id: str) -> list[dict[str, Any]]:
    """What was said in one video, in time order (the transcript the API serves)."""
    if store.video(video_id) is None:
        raise StoreError(
            f"video {video_id} is not in store {store.path}; `videoidx videos` lists them"
        )
    return _rows(store, "speech", video_id, ("doc", "doc_len"))


def export_json(store: Store, video_id: str, out: str | Path) -> Path:
    out = Path(out)
    text = json.dumps(timeline_document(store, video_id), ensure_ascii=False, indent=1)
    out.write_text(text + "\n", encoding="utf-8")
    return out


def import_json(store: Store, path: str | Path) -> str:
    """Load a document written by :func:`export_json`; returns its video id."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read timeline JSON {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StoreError(f"{path} is not a videoidx timeline export (no format {FORMAT!r})")
    if int(doc.get("version", 0)) > VERSION:
        raise StoreError(
            f"{path} is timeline format version {doc['version']}; this videoidx reads up to "
            f"{VERSION}; upgrade videoidx"
        )
    tables = {"videos": [doc["video"]]}
    for table, key, _ in _TABLES:
        rows = doc.get(key, [])
        if table == "thumbnails":
            rows = [
                {**r, "jpeg": base64.b64decode(r["jpeg"]) if r.get("jpeg") else None} for r in rows
            ]
        tables[table] = rows
    return store.import_rows(tables)


# -- cues ------------------------------------------------------------------------------------


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_text(label: str, description: str, *, vtt: bool) -> str:
    lines = [line for line in (label.strip(), description.strip()) if line]
    text = "\n".join(" ".join(line.split()) for line in lines) or "(event)"
    text = text.replace("-->", "->")
    if vtt:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    else:
        # SRT has no escapes, and players render <i>, <b>, <font> (some more) in cues; entities
        # would show as "&lt;". Look-alike brackets keep the words and are never markup.
        text = text.replace("<", "‹").replace(">", "›")
    return text


def _cues(store: Store, video_id: str, speech: bool = False) -> list[tuple[float, float, str, str]]:
    if store.video(video_id) is None:
        raise StoreError(
            f"video {video_id} is not in store {store.path}; `videoidx videos` lists them"
        )
    if speech:
        # Subtitles: what was said, in time order, each segment one cue of its own words.
        rows = store.iter_table(
            "SELECT start_s, end_s, text FROM speech WHERE video_id = ? "
            "ORDER BY start_s, speech_id",
            [video_id],
        )
        return [
            (r["start_s"], max(r["end_s"], r["start_s"] + MIN_CUE_S), "", r["text"] or "")
            for r in rows
        ]
    return [
        (e.start_s, max(e.end_s, e.start_s + MIN_CUE_S), e.label, e.description)
        for e in store.events(video_id)
    ]


def to_webvtt(store: Store, video_id: str, *, speech: bool = False) -> str:
    """Every event (or with ``speech``, every spoken segment: subtitles) as a WebVTT cue."""
    blocks = ["WEBVTT"]
    for i, (start, end, label, description) in enumerate(_cues(store, video_id, speech), 1):
        text = _cue_text(label, description, vtt=True)
        blocks.append(f"{i}\n{_clock(start, '.')} --> {_clock(end, '.')}\n{text}")
    return "\n\n".join(blocks) + "\n"


def to_srt(store: Store, video_id: str, *, speech: bool = False) -> str:
    """Every event (or with ``speech``, every spoken segment: subtitles) as a numbered SRT
    cue."""
    blocks = []
    for i, (start, end, label, description) in enumerate(_cues(store, video_id, speech), 1):
        text = _cue_text(label, description, vtt=False)
        blocks.append(f"{i}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{text}")
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def to_chapters(store: Store, video_id: str) -> str:
    """WebVTT chapters: one per shot (from its cut to the next), else one per clip."""
    info = store.video(video_id)
    if info is None:
        raise StoreError(
            f"video {video_id} is not in store {store.path}; `videoidx videos` lists them"
        )
    cuts = [c.time_s for c in store.shots(video_id)]
    chapters: list[tuple[float, float, str]] = []
    if cuts:
        starts = sorted({0.0, *[t for t in cuts if 0 < t < info.duration_s]})
        ends = [*starts[1:], info.duration_s]
        chapters = [
            (s, e, f"Shot {i}") for i, (s, e) in enumerate(zip(starts, ends, strict=True), 1)
        ]
    else:
        for clip in store.clips(video_id):
            title = clip.summary.strip() or f"Clip {clip.clip_index + 1}"
            chapters.append((clip.start_s, clip.end_s, " ".join(title.split())))
    blocks = ["WEBVTT"]
    for i, (start, end, title) in enumerate(chapters, 1):
        text = _cue_text(title, "", vtt=True)
        blocks.append(
            f"{i}\n{_clock(start, '.')} --> {_clock(max(end, start + 0.001), '.')}\n{text}"
        )
    return "\n\n".join(blocks) + "\n"


def export_as(store: Store, video_id: str, format: str, *, speech: bool = False) -> Any:
    """The timeline document (``json``, a dict) or the text of ``vtt``, ``srt`` or
    ``chapters`` (``speech``: subtitles of what is said): one dispatch for the API and the
    library's verbs."""
    if format == "json":
        return timeline_document(store, video_id)
    if format == "vtt":
        return to_webvtt(store, video_id, speech=speech)
    if format == "srt":
        return to_srt(store, video_id, speech=speech)
    if format == "chapters":
        return to_chapters(store, video_id)
    raise StoreError(f"unknown export format {format!r}; use json, vtt, srt or chapters")


# -- parquet ---------------------------------------------------------------------------------


def parquet_zip(store: Store, video_id: str) -> bytes:
    """The files of :func:`export_parquet` as one zip archive (what a server sends)."""
    with tempfile.TemporaryDirectory(prefix="videoidx-parquet-") as tmp:
        files = export_parquet(store, video_id, tmp)
        buf = io.BytesIO()
        # Stored, not deflated: Parquet is compressed already.
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
            for f in files:
                archive.write(f, f.name)
    return buf.getvalue()


def unpack_parquet_zip(data: bytes, out_dir: str | Path) -> list[Path]:
    """Write the Parquet files of a :func:`parquet_zip` archive into ``out_dir``; only plain
    ``NAME.parquet`` members are taken, so an archive cannot write outside the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                if not re.fullmatch(r"[a-z0-9_]+\.parquet", member):
                    raise StoreError(f"the parquet export holds an unexpected file {member!r}")
                target = out / member
                target.write_bytes(archive.read(member))
                written.append(target)
    except zipfile.BadZipFile as exc:
        raise StoreError(f"the parquet export is not a readable zip archive ({exc})") from None
    return written


def export_parquet(store: Store, video_id: str, out_dir: str | Path) -> list[Path]:
    """One Parquet file per table with this video's rows; returns the files written."""
    if store.video(video_id) is None:
        raise StoreError(
            f"video {video_id} is not in store {store.path}; `videoidx videos` lists them"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    queries: list[tuple[str, str, list[Any]]] = [
        (table, f"SELECT * FROM {table} WHERE {where}", [video_id])
        for table in ("videos", *(t for t, _, _ in _TABLES), "qa_log")
        for where in ["list_contains(video_ids, ?)" if table == "qa_log" else "video_id = ?"]
    ]
    # One file per embedding model (their vectors differ in size), each row naming its model
    # and the event, speech segment or text span it embeds, by the ids the other files use.
    queries += [
        (
            model.table,
            f"SELECT ?::VARCHAR AS model_key, d.kind, d.item_id, v.doc, v.vector "
            f"FROM {model.table} v JOIN search_docs d USING (doc) WHERE d.video_id = ? "
            "ORDER BY v.doc",
            [model.model_key, video_id],
        )
        for model in vector_models(store)
    ]
    with store._read() as cur:
        for name, query, params in queries:
            target = out / f"{name}.parquet"
            literal = str(target).replace("'", "''")  # COPY takes its target as a literal
            cur.execute(f"COPY ({query}) TO '{literal}' (FORMAT parquet)", params)
            written.append(target)
    return written
