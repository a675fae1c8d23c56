"""Turn one clip's analysis into table rows, checking every key reference on the way.

Pure Python and numpy, no SQL: :class:`ClipRows` collects row tuples that the store inserts in
bulk, and :func:`code_tokens` and :func:`postings` turn the queued documents' words into
postings columns.
A dangling reference (a link or appearance naming an event or character key the analysis does
not define) raises :class:`StoreError`, and because rows are built inside the write transaction
nothing of that clip is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from typing import Any

import numpy as np

from videoidx.errors import StoreError
from videoidx.store.tokenize import stems, tokenize
from videoidx.store.tokenize import words as folded_words
from videoidx.types import ClipAnalysis, ClipSpec, Frame, Word
from videoidx.vocab import ClipStatus

THUMBNAIL_LONG_SIDE_PX = 192


def clip_id_for(clip: ClipSpec, cache_key: str) -> str:
    """Stable clip id: the same video, bounds and cache key always give the same id."""
    raw = f"{clip.video_id}\x00{round(clip.start_s * 1000)}\x00{round(clip.end_s * 1000)}"
    return hashlib.sha1(f"{raw}\x00{cache_key}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ClipWrite:
    """One clip to write, as passed to :meth:`Store.write_clips`."""

    clip: ClipSpec
    cache_key: str
    analysis: ClipAnalysis | None
    status: ClipStatus = ClipStatus.DONE
    error: str | None = None
    frames: Sequence[Frame] = ()


@dataclass(slots=True)
class Rows:
    """One table's rows as tuples in ``columns`` order, transposed once when inserted: a tuple
    per row is several times cheaper to build than one append per column."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def append(self, *values: Any) -> None:
        self.rows.append(values)

    def __len__(self) -> int:
        return len(self.rows)

    def as_columns(self) -> dict[str, Sequence[Any]]:
        """Column name -> values, for :meth:`Store._insert`."""
        if not self.rows:
            return {}
        return dict(zip(self.columns, zip(*self.rows, strict=True), strict=True))


@dataclass(slots=True)
class Tokens:
    """A batch's documents as integer codes: each token's index into the batch's distinct
    terms, and each document's number and length."""

    terms: list[str]
    code: np.ndarray
    docs: np.ndarray
    lens: np.ndarray


def code_tokens(docs: Sequence[int], word_lists: Sequence[Sequence[str]]) -> Tokens:
    """Stem and code a batch's folded words (see :func:`videoidx.store.tokenize.words`).

    Every per-token step is a C loop (chain, dict, map); only the batch's distinct words are
    stemmed, each once, which is what makes a bulk load's tokenizing cheap: a batch repeats
    its few thousand words hundreds of thousands of times.
    """
    flat = list(chain.from_iterable(word_lists))
    distinct = list(dict.fromkeys(flat))
    stemmed = stems(distinct)
    terms = list(dict.fromkeys(stemmed))
    term_code = {t: i for i, t in enumerate(terms)}
    word_code = dict(zip(distinct, map(term_code.__getitem__, stemmed), strict=True))
    return Tokens(
        terms=terms,
        code=np.fromiter(map(word_code.__getitem__, flat), dtype=np.int64, count=len(flat)),
        docs=np.asarray(docs, dtype=np.int64),
        lens=np.fromiter(map(len, word_lists), dtype=np.int64, count=len(word_lists)),
    )


@dataclass(slots=True)
class Postings:
    """A batch's search postings in columns, sorted by (term id, document): one row per
    (term, document) with its term frequency and the document's length, and how many of the
    batch's documents hold each of its terms."""

    term_id: np.ndarray
    doc: np.ndarray
    tf: np.ndarray
    dl: np.ndarray
    df: np.ndarray
    """Documents of this batch holding ``Tokens.terms[i]``."""


def postings(tokens: Tokens, term_ids: np.ndarray) -> Postings:
    """Count each term per document, given the store's id of each of ``tokens.terms``.

    One sort of integer keys does the grouping and the order at once (a GROUP BY over strings
    in SQL cost 3x more): rows come out sorted by term id, so inserting them into the ART
    index on ``term_id`` (done at commit) walks the tree in order, 4x cheaper than in document
    order. A batch's documents are one range, so removing a clip's postings still skips most
    of the table by zone maps.
    """
    by_id = np.argsort(term_ids, kind="stable")  # rank -> code
    rank = np.empty_like(by_id)
    rank[by_id] = np.arange(len(by_id))
    n_docs = max(len(tokens.docs), 1)
    local = np.repeat(np.arange(len(tokens.docs), dtype=np.int64), tokens.lens)
    keys, tf = np.unique(rank[tokens.code] * n_docs + local, return_counts=True)
    ranks, local = np.divmod(keys, n_docs)
    code = by_id[ranks]
    return Postings(
        term_id=np.asarray(term_ids, dtype=np.int32)[code],
        doc=tokens.docs[local],
        tf=tf.astype(np.int32),
        dl=tokens.lens[local].astype(np.int32),
        df=np.bincount(code, minlength=len(tokens.terms)).astype(np.int64),
    )


@dataclass
class ClipRows:
    """Rows for every table a batch of clips touches.

    A new table written per clip (say, vectors) is one more :class:`Rows` field here, filled in
    :meth:`add`, and one more line in ``Store._write_rows``.
    """

    run_id: str | None
    next_doc: int
    thumbnails_enabled: bool = True
    clips: Rows = field(
        default_factory=partial(
            Rows,
            (
                "clip_id", "video_id", "run_id", "clip_index", "start_s", "end_s", "status",
                "error", "cache_key", "summary", "raw_reply", "reasoning", "model",
                "finish_reason", "dropped_items", "clamped_items", "prompt_tokens",
                "completion_tokens", "reasoning_tokens", "cached_tokens", "cost_usd", "requests",
                "doc_min", "doc_max", "written_at",
            ),
        )
    )  # fmt: skip
    events: Rows = field(
        default_factory=partial(
            Rows,
            (
                "event_id", "doc", "video_id", "clip_id", "clip_index", "key", "start_s", "end_s",
                "label", "description", "characters", "objects", "location", "on_screen_text",
                "confidence", "doc_len",
            ),
        )
    )  # fmt: skip
    clip_characters: Rows = field(
        default_factory=partial(
            Rows,
            (
                "clip_character_id", "video_id", "clip_id", "clip_index", "key", "name",
                "description", "first_seen_s",
            ),
        )
    )  # fmt: skip
    event_characters: Rows = field(
        default_factory=partial(Rows, ("event_id", "clip_character_id", "video_id", "clip_id"))
    )
    appearances: Rows = field(
        default_factory=partial(
            Rows,
            (
                "video_id", "clip_id", "clip_character_id", "event_id", "start_s", "end_s",
                "box_x1", "box_y1", "box_x2", "box_y2",
            ),
        )
    )  # fmt: skip
    links: Rows = field(
        default_factory=partial(
            Rows,
            (
                "video_id", "clip_id", "cause_event_id", "effect_event_id", "relation",
                "explanation", "confidence", "provenance",
            ),
        )
    )  # fmt: skip
    thumbnails: Rows = field(
        default_factory=partial(
            Rows, ("event_id", "video_id", "time_s", "width_px", "height_px", "jpeg")
        )
    )
    speech: Rows = field(
        default_factory=partial(
            Rows,
            (
                "speech_id", "doc", "video_id", "clip_id", "clip_index", "start_s", "end_s", "text",
                "words", "language", "confidence", "engine", "model", "speaker", "doc_len",
            ),
        )
    )  # fmt: skip
    screen_text: Rows = field(
        default_factory=partial(
            Rows,
            (
                "text_id", "doc", "video_id", "clip_id", "clip_index", "start_s", "end_s", "text",
                "confidence", "box_x1", "box_y1", "box_x2", "box_y2", "engine", "doc_len",
            ),
        )
    )  # fmt: skip
    # The search index input: each document's number and its folded words (with repeats),
    # stemmed a batch at a time by :func:`code_tokens`.
    token_docs: list[int] = field(default_factory=list)
    token_lists: list[list[str]] = field(default_factory=list)
    total_len: int = 0

    @property
    def doc_count(self) -> int:
        return len(self.token_docs)

    def add_tokens(self, doc: int, folded: list[str]) -> None:
        """Queue one document's folded words (:func:`~videoidx.store.tokenize.words`, not
        stemmed: one word is one term, so the length is already right) for the search index."""
        self.token_docs.append(doc)
        self.token_lists.append(folded)
        self.total_len += len(folded)

    def tokens(self) -> Tokens:
        """The queued documents, stemmed and coded (see :func:`code_tokens`)."""
        return code_tokens(self.token_docs, self.token_lists)

    def add(self, item: ClipWrite, *, provenance: str) -> None:
        """Append one clip's rows; raises StoreError on a dangling key (nothing is half-added
        that the caller would keep, since the whole batch is rolled back)."""
        clip, analysis = item.clip, item.analysis or ClipAnalysis()
        cid = clip_id_for(clip, item.cache_key)
        vid, index = clip.video_id, clip.index
        where = f"clip {index} ({clip.start_s:.1f}-{clip.end_s:.1f} s) of video {vid}"
        done = item.status == ClipStatus.DONE
        events = analysis.events if done else []
        event_ids = {e.key: f"{cid}-{e.key}" for e in events}
        names = {c.key: c.name for c in analysis.characters}
        char_ids = {c.key: f"{cid}-{c.key}" for c in analysis.characters}
        if len(event_ids) != len(events) or len(char_ids) != len(analysis.characters):
            raise StoreError(f"{where}: two events or characters share a key; not stored")
        first_doc = self.next_doc
        for c in analysis.characters if done else []:
            self.clip_characters.rows.append(
                (char_ids[c.key], vid, cid, index, c.key, c.name, c.description, c.first_seen_s)
            )
        # The hot loop of a bulk load: plain tuple appends, no per-column work.
        event_rows = self.events.rows
        link_rows = self.event_characters.rows
        thumbs = self.thumbnails_enabled and bool(item.frames)
        doc = self.next_doc
        for e in events:
            try:
                char_names = [names[k] for k in e.characters]
            except KeyError:
                missing = [k for k in e.characters if k not in char_ids]
                raise StoreError(
                    f"{where}: event {e.key} names unknown characters {missing}"
                ) from None
            terms = event_terms(
                e.label, e.description, char_names, e.objects, e.location, e.on_screen_text,
                terms_of=folded_words,
            )  # fmt: skip
            eid = event_ids[e.key]
            event_rows.append(
                (
                    eid, doc, vid, cid, index, e.key, e.start_s, e.end_s, e.label,
                    e.description, char_names, list(e.objects), e.location, e.on_screen_text,
                    e.confidence, len(terms),
                )
            )  # fmt: skip
            for k in e.characters:
                link_rows.append((eid, char_ids[k], vid, cid))
            self.add_tokens(doc, terms)
            doc += 1
            if thumbs:
                self._add_thumbnail(eid, vid, e.start_s, item.frames)
        self.next_doc = doc
        if done:
            self._add_speech_and_text(analysis, vid, cid, index)
            self._add_appearances(analysis, vid, cid, char_ids, event_ids, where)
            self._add_links(analysis, vid, cid, event_ids, where, provenance)
        u = analysis.usage
        has_docs = self.next_doc > first_doc
        self.clips.append(
            cid, vid, self.run_id, index, clip.start_s, clip.end_s, item.status, item.error,
            item.cache_key, analysis.summary, analysis.raw_reply, analysis.reasoning,
            analysis.model, analysis.finish_reason, analysis.dropped_items,
            analysis.clamped_items, u.prompt_tokens, u.completion_tokens, u.reasoning_tokens,
            u.cached_tokens, u.cost_usd, u.requests, first_doc if has_docs else None,
            self.next_doc - 1 if has_docs else None,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )  # fmt: skip

    def _add_speech_and_text(
        self, analysis: ClipAnalysis, vid: str, cid: str, clip_index: int
    ) -> None:
        """The clip's speech segments and on-screen text spans, each its own search document."""
        for n, seg in enumerate(analysis.speech):
            terms = folded_words(seg.text)
            doc = self.next_doc
            self.next_doc += 1
            words = [
                {"start_s": w.start_s, "end_s": w.end_s, "text": w.text, "probability": p}
                for w in seg.words
                for p in [w.probability]
            ]
            self.speech.append(
                f"{cid}-s{n + 1}", doc, vid, cid, clip_index, seg.start_s, seg.end_s, seg.text,
                json.dumps(words), seg.language, seg.confidence, analysis.speech_engine,
                analysis.speech_model, seg.speaker, len(terms),
            )  # fmt: skip
            self.add_tokens(doc, terms)
        for n, span in enumerate(analysis.screen_text):
            terms = folded_words(span.text)
            doc = self.next_doc
            self.next_doc += 1
            box = span.box_px or (None, None, None, None)
            self.screen_text.append(
                f"{cid}-t{n + 1}", doc, vid, cid, clip_index, span.start_s, span.end_s, span.text,
                span.confidence, *box, analysis.text_engine, len(terms),
            )  # fmt: skip
            self.add_tokens(doc, terms)

    def _add_appearances(
        self,
        analysis: ClipAnalysis,
        vid: str,
        cid: str,
        char_ids: dict[str, str],
        event_ids: dict[str, str],
        where: str,
    ) -> None:
        for a in analysis.appearances:
            if a.character_key not in char_ids:
                raise StoreError(f"{where}: appearance of unknown character {a.character_key!r}")
            if a.event_key is not None and a.event_key not in event_ids:
                raise StoreError(f"{where}: appearance in unknown event {a.event_key!r}")
            box = a.box_px or (None, None, None, None)
            self.appearances.append(
                vid, cid, char_ids[a.character_key],
                event_ids[a.event_key] if a.event_key is not None else None,
                a.start_s, a.end_s, *box,
            )  # fmt: skip

    def _add_links(
        self,
        analysis: ClipAnalysis,
        vid: str,
        cid: str,
        event_ids: dict[str, str],
        where: str,
        provenance: str,
    ) -> None:
        for link in analysis.links:
            for key in (link.cause_key, link.effect_key):
                if key not in event_ids:
                    raise StoreError(f"{where}: causal link names unknown event {key!r}")
            self.links.append(
                vid, cid, event_ids[link.cause_key], event_ids[link.effect_key], link.relation,
                link.explanation, link.confidence, provenance,
            )  # fmt: skip

    def _add_thumbnail(
        self, event_id: str, vid: str, start_s: float, frames: Sequence[Frame]
    ) -> None:
        frame = min(frames, key=lambda f: abs(f.time_s - start_s))
        jpeg, w, h = shrink_jpeg(frame.jpeg, frame.width_px, frame.height_px)
        self.thumbnails.append(event_id, vid, frame.time_s, w, h, jpeg)


def words_from_json(raw: str | None) -> tuple[Word, ...]:
    """The ``words`` column of a speech row back as :class:`~videoidx.types.Word` s."""
    if not raw:
        return ()
    return tuple(
        Word(float(w["start_s"]), float(w["end_s"]), str(w["text"]), w.get("probability"))
        for w in json.loads(raw)
    )


def event_terms(
    label: str,
    description: str,
    character_names: Sequence[str],
    objects: Sequence[str],
    location: str,
    on_screen_text: str,
    *,
    terms_of: Callable[[str], list[str]] = tokenize,
) -> list[str]:
    """The search terms of one event: every text field a user may search for (``terms_of``
    is the tokenizer; rebuilding the index with another one is what a tokenizer migration does)."""
    parts = [label, description, *character_names, *objects, location, on_screen_text]
    return terms_of(" ".join(filter(None, parts)))


def shrink_jpeg(jpeg: bytes, width_px: int, height_px: int) -> tuple[bytes, int, int]:
    """A small JPEG for the timeline; frames already this small are kept as they are."""
    if max(width_px, height_px) <= THUMBNAIL_LONG_SIDE_PX:
        return jpeg, width_px, height_px
    from PIL import Image, UnidentifiedImageError  # imported lazily: only writes need Pillow

    try:
        with Image.open(io.BytesIO(jpeg)) as img:
            img.thumbnail((THUMBNAIL_LONG_SIDE_PX, THUMBNAIL_LONG_SIDE_PX))
            out = io.BytesIO()
            img.convert("RGB").save(out, format="JPEG", quality=80)
            return out.getvalue(), img.width, img.height
    except (UnidentifiedImageError, OSError):
        # A frame we cannot decode is still a better thumbnail than none.
        return jpeg, width_px, height_px
