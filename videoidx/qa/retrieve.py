"""Evidence for a question: the stored events a good answer would cite, numbered in time order.

Speech and on-screen text are evidence too: they come from the same search as events, and are
cited the same way (video, start, end), labelled ``said`` or ``shown on screen``.

Steps, each bounded so a long library stays fast:

1. time expressions become windows (``timeexpr``); an anchor (``after the explosion``) is found by
   BM25 and narrows the window to its video and time; ``the last 30 seconds`` becomes one window
   per video, since it depends on each video's length;
2. BM25 hits for the question's content words inside the windows (a question with no content
   words, like ``what happened between 5:00 and 6:00?``, lists the window in time order); when
   the store holds vectors of the given embedder's model, also the documents nearest to the
   question by meaning (cosine at least :data:`SEMANTIC_MIN_COSINE`), so a moment described in
   other words is still found;
3. character names in the question resolve to their earliest appearances;
4. the best few seeds bring their neighbours in time and the events causally linked to them,
   never leaving the window.

When the words match nothing inside a time window, the window's events come as ``context``:
not an answer, but what a model needs to say so (or to pick a clip to look at again).

Everything is capped at ``max_evidence`` by priority (characters, hits, window listing, anchors,
links, neighbours, context) and then numbered in time order, which is how a reader follows a story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from videoidx.qa.records import Citation
from videoidx.qa.timeexpr import TimeFilter, clock
from videoidx.store import SearchHit, Store, StoredEvent, StoredLink, search, vectors
from videoidx.store.tokenize import words as folded_words
from videoidx.store.vectors import QueryEmbedder
from videoidx.times import clock_span

NEIGHBOUR_S = 120.0
"""How far (seconds) to look for the events just before and after a hit."""
SEEDS = 3
"""Hits whose neighbours and causal links are added."""
APPEARANCES_PER_CHARACTER = 3
SEMANTIC_MIN_COSINE = 0.3
"""Nearest-by-meaning documents less similar than this are not evidence: every document has a
nearest neighbour, and a question about nothing in the videos must still come back thin.
Measured with all-MiniLM-L6-v2 on short event texts: a question that paraphrases an event scores
0.3 to 0.66 against it, unrelated events 0.0 to 0.25."""

# Question words and glue that would match every event ("the screen is red") and rank nothing.
_STOP_TEXT = """
    a an the and or but of to in on at by for with from into onto over under about as is are
    was were be been being am do does did doing done have has had having what when where why who
    whom whose which how happen happens happened happening there here this that these those it
    its he she they them his her hers their theirs i you we me my your our us first appear
    appears appeared appearance show shows shown see seen saw video videos clip clips scene
    scenes moment moments time times can could would should will shall may might must any some
    ever just then than so not no yes get gets got tell describe explain going go goes"""
STOPWORDS = frozenset(_STOP_TEXT.split())

KIND_PRIORITY = ("character", "match", "window", "anchor", "linked", "neighbour", "context")
PRIMARY_KINDS = frozenset({"character", "match", "window"})
"""Kinds that answer the question directly (the rest is context around them)."""


@dataclass(frozen=True, slots=True)
class Window:
    """Where to look: some videos (None = all) between two times (None = open)."""

    video_ids: tuple[str, ...] | None
    start_s: float | None
    end_s: float | None

    def holds(self, video_id: str, start_s: float, end_s: float) -> bool:
        """Whether an event overlaps the window by more than a touching edge: an event that
        ends exactly when the window starts is before it (point events count at the edge)."""
        return (
            (self.video_ids is None or video_id in self.video_ids)
            and (self.start_s is None or end_s > self.start_s or start_s >= self.start_s)
            and (self.end_s is None or start_s < self.end_s or end_s <= self.end_s)
        )


@dataclass
class Evidence:
    """The numbered events shown to the model, with why each one was picked."""

    items: list[Citation]
    kinds: dict[int, str] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)
    links: list[tuple[int, int, str, str]] = field(default_factory=list)
    """(cause n, effect n, relation, explanation) between numbered items."""
    windows: list[Window] = field(default_factory=list)
    readings: list[str] = field(default_factory=list)

    def primary(self) -> list[Citation]:
        """Items that answer the question directly, best first (then earliest)."""
        chosen = [c for c in self.items if self.kinds.get(c.n) in PRIMARY_KINDS]
        return sorted(chosen, key=lambda c: (-self.scores.get(c.n, 0.0), c.video_id, c.start_s))

    @property
    def thin(self) -> bool:
        """Nothing matched the question itself (only context, or nothing at all)."""
        return not self.primary()


@dataclass
class _Candidate:
    event_id: str
    video_id: str
    start_s: float
    end_s: float
    label: str
    description: str
    kind: str
    score: float = 0.0


def content_terms(text: str) -> list[str]:
    """The words worth searching for: folded words minus question words and glue.

    Words, not stemmed terms: they are joined into a query that :func:`search` stems (stemming
    twice is not the same as once: "agreed" -> "agre" -> "agr")."""
    seen: dict[str, None] = {}
    for term in folded_words(text):
        if term not in STOPWORDS:
            seen.setdefault(term, None)
    return list(seen)


HIT_LABELS = {"speech": "said", "screen_text": "shown on screen"}
"""How a speech or on-screen text hit reads as evidence: the label says what it is, the words
are its description (quoted as data in a model's prompt like every event's text)."""


def _from_hit(h: SearchHit, kind: str) -> _Candidate:
    label, description = h.label, h.description
    if h.kind in HIT_LABELS:
        label, description = HIT_LABELS[h.kind], h.label
    return _Candidate(h.event_id, h.video_id, h.start_s, h.end_s, label, description, kind, h.score)


def _from_event(e: StoredEvent, kind: str, score: float = 0.0) -> _Candidate:
    return _Candidate(e.id, e.video_id, e.start_s, e.end_s, e.label, e.description, kind, score)


class _Gatherer:
    """One retrieval: caches per-video reads so each is done once."""

    def __init__(
        self,
        store: Store,
        video_ids: Sequence[str] | None,
        max_evidence: int,
        embedder: QueryEmbedder | None = None,
    ) -> None:
        self.store = store
        self.embedder = (
            embedder
            if embedder is not None and vectors.has_vectors(store, embedder.model_key)
            else None
        )
        self.scope = tuple(video_ids) if video_ids is not None else None
        self.max_evidence = max_evidence
        self.found: dict[str, _Candidate] = {}
        self.readings: list[str] = []
        self.unresolved: list[str] = []
        """Anchor phrases not found in the index; their words are searched for instead."""
        self._links: dict[str, list[StoredLink]] = {}
        self._videos = {v.video_id: v for v in store.list_videos()}

    def add(self, cand: _Candidate) -> None:
        old = self.found.get(cand.event_id)
        rank = KIND_PRIORITY.index
        if old is None or rank(cand.kind) < rank(old.kind):
            self.found[cand.event_id] = cand
        elif old is not None and cand.score > old.score:
            old.score = cand.score

    def links(self, video_id: str) -> list[StoredLink]:
        if video_id not in self._links:
            self._links[video_id] = self.store.links(video_id)
        return self._links[video_id]

    def title(self, video_id: str) -> str:
        v = self._videos.get(video_id)
        return v.title if v is not None else ""

    # -- windows -----------------------------------------------------------------------------

    def windows(self, tf: TimeFilter) -> list[Window]:
        base = Window(self.scope, tf.start_s, tf.end_s)
        for phrase, side in ((tf.after, "after"), (tf.before, "before")):
            if phrase:
                base = self._anchor(base, phrase, side, adjacent=tf.adjacent)
        if tf.last_s is None:
            return [base]
        ids = base.video_ids if base.video_ids is not None else tuple(self._videos)
        out = []
        for vid in ids:
            duration_s = self._videos[vid].duration_s if vid in self._videos else 0.0
            start_s = max(duration_s - tf.last_s, 0.0)
            if base.start_s is not None:
                start_s = max(start_s, base.start_s)
            out.append(Window((vid,), start_s, base.end_s))
        return out

    def _anchor(self, base: Window, phrase: str, side: str, *, adjacent: bool = False) -> Window:
        """Narrow ``base`` to the video and time of the event best matching ``phrase``: from
        its start on (``after``) or up to its end (``before``); ``adjacent`` ("right after")
        leaves the anchor out, from its end on or up to its start."""
        terms = content_terms(phrase)
        hits = (
            search(
                self.store,
                " ".join(terms),
                video_ids=base.video_ids,
                start_s=base.start_s,
                end_s=base.end_s,
                limit=1,
            )
            if terms
            else []
        )
        if not hits:
            self.readings.append(f"{side} {phrase!r}: not found in the index, not used")
            self.unresolved.append(phrase)
            return base
        hit = hits[0]
        self.add(_from_hit(hit, "anchor"))
        if adjacent:
            where = clock_span(hit.start_s, hit.end_s)
            self.readings.append(f"right {side} {hit.label or phrase} {where}")
        else:
            self.readings.append(f"{side} {hit.label or phrase} at {clock(hit.start_s)}")
        if side == "after":
            edge_s = hit.end_s if adjacent else hit.start_s
            start_s = edge_s if base.start_s is None else max(base.start_s, edge_s)
            return Window((hit.video_id,), start_s, base.end_s)
        edge_s = hit.start_s if adjacent else hit.end_s
        end_s = edge_s if base.end_s is None else min(base.end_s, edge_s)
        return Window((hit.video_id,), base.start_s, end_s)

    # -- sources -----------------------------------------------------------------------------

    def hits(self, terms: list[str], windows: list[Window], listing: bool) -> None:
        for w in windows:
            if not terms and not listing:
                continue
            found = search(
                self.store,
                " ".join(terms),
                video_ids=w.video_ids,
                start_s=w.start_s,
                end_s=w.end_s,
                limit=self.max_evidence,
            )
            kind = "match" if terms else "window"
            if not found and terms and (w.start_s is not None or w.end_s is not None):
                # Nothing in the window matches the words: show what is there, so the model
                # can say it does not answer (or look again at it); it is context, not a match.
                found = search(
                    self.store, "", video_ids=w.video_ids, start_s=w.start_s, end_s=w.end_s,
                    limit=self.max_evidence,
                )  # fmt: skip
                kind = "context"
            for h in found:
                if not w.holds(h.video_id, h.start_s, h.end_s):
                    continue  # the store's filter keeps events touching the window's edges
                self.add(_from_hit(h, kind))

    def meanings(self, text: str, windows: list[Window]) -> None:
        """Documents close to ``text`` by meaning, inside the windows (vectors needed)."""
        if self.embedder is None or not text.strip():
            return
        for w in windows:
            found = search(
                self.store, text, mode="semantic", embedder=self.embedder,
                video_ids=w.video_ids, start_s=w.start_s, end_s=w.end_s, limit=self.max_evidence,
            )  # fmt: skip
            for h in found:
                if h.score >= SEMANTIC_MIN_COSINE and w.holds(h.video_id, h.start_s, h.end_s):
                    self.add(_from_hit(h, "match"))

    def characters(self, question: str, windows: list[Window]) -> None:
        """Events where a character named in the question appears, earliest first."""
        words = set(folded_words(question))
        named: dict[str, dict[str, str]] = {}  # video -> character id -> name
        for vid, name, char_id in self.store.character_names(self.scope):
            terms = content_terms(name)
            if terms and set(terms) <= words:
                named.setdefault(vid, {})[char_id] = name.casefold()
        budget = self.max_evidence
        for vid, ids in named.items():
            by_name: dict[str, list[str]] = {}
            for a in self.store.appearances(vid):
                who = ids.get(a.clip_character_id) or ids.get(a.character_id or "")
                if a.event_id and who:
                    by_name.setdefault(who, []).append(a.event_id)
            for event_ids in by_name.values():
                kept = 0
                for event_id in dict.fromkeys(event_ids):  # appearances come in time order
                    e = self.store.event(event_id)
                    if e is None or not any(w.holds(vid, e.start_s, e.end_s) for w in windows):
                        continue
                    # Earlier appearances rank higher: "when does X first appear" wants those.
                    self.add(_from_event(e, "character", score=1e6 - kept))
                    kept += 1
                    budget -= 1
                    if budget <= 0:
                        return
                    if kept >= APPEARANCES_PER_CHARACTER:
                        break

    def expand(self, windows: list[Window]) -> None:
        """Add the neighbours in time and the causally linked events of the best seeds."""
        seeds = sorted(
            (c for c in self.found.values() if c.kind in PRIMARY_KINDS),
            key=lambda c: -c.score,
        )[:SEEDS]
        for seed in seeds:
            inside = [w for w in windows if w.holds(seed.video_id, seed.start_s, seed.end_s)]
            for link in self.links(seed.video_id):
                other = {link.cause_id: link.effect_id, link.effect_id: link.cause_id}.get(
                    seed.event_id
                )
                e = self.store.event(other) if other else None
                if e is not None and any(w.holds(e.video_id, e.start_s, e.end_s) for w in inside):
                    self.add(_from_event(e, "linked"))
            near = self.store.events(
                seed.video_id, start_s=seed.start_s - NEIGHBOUR_S, end_s=seed.end_s + NEIGHBOUR_S
            )
            near = [
                e
                for e in near
                if e.id != seed.event_id
                and any(w.holds(e.video_id, e.start_s, e.end_s) for w in inside)
            ]
            before = [e for e in near if e.start_s < seed.start_s]
            after = [e for e in near if e.start_s > seed.start_s]
            for e in before[-1:] + after[:1]:
                self.add(_from_event(e, "neighbour"))

    # -- result ------------------------------------------------------------------------------

    def evidence(self, windows: list[Window]) -> Evidence:
        rank = KIND_PRIORITY.index
        kept = sorted(self.found.values(), key=lambda c: (rank(c.kind), -c.score, c.start_s))
        kept = kept[: self.max_evidence]
        order = list(self._videos)
        kept.sort(
            key=lambda c: (
                order.index(c.video_id) if c.video_id in order else len(order),
                c.start_s,
                c.end_s,
                c.event_id,
            )
        )
        ev = Evidence(items=[], windows=windows, readings=self.readings)
        number: dict[str, int] = {}
        for n, c in enumerate(kept, start=1):
            number[c.event_id] = n
            ev.items.append(
                Citation(
                    n, c.video_id, self.title(c.video_id), c.start_s, c.end_s, c.event_id,
                    c.label, c.description,
                )
            )  # fmt: skip
            ev.kinds[n] = c.kind
            ev.scores[n] = c.score
        for vid in dict.fromkeys(c.video_id for c in kept):
            for link in self.links(vid):
                if link.cause_id in number and link.effect_id in number:
                    ev.links.append(
                        (number[link.cause_id], number[link.effect_id], link.relation,
                         link.explanation)
                    )  # fmt: skip
        return ev


def gather_evidence(
    store: Store,
    question: str,
    tf: TimeFilter,
    *,
    video_ids: Sequence[str] | None = None,
    max_evidence: int = 12,
    embedder: QueryEmbedder | None = None,
) -> Evidence:
    """The numbered evidence for ``question`` (see the module docstring); ``embedder`` adds
    the documents nearest by meaning when the store holds its vectors."""
    g = _Gatherer(store, video_ids, max_evidence, embedder)
    windows = g.windows(tf)
    terms = content_terms(tf.rest)
    for phrase in g.unresolved:  # an anchor not found still says what the question is about
        terms += [t for t in content_terms(phrase) if t not in terms]
    g.characters(question, windows)
    # A question with no content words ("what happened in the first minute?") is answered by
    # its window in time order, unless a character it names already answered it.
    g.hits(terms, windows, listing=not terms and (not tf.is_empty or not g.found))
    if terms:
        g.meanings(tf.rest, windows)
    g.expand(windows)
    return g.evidence(windows)
