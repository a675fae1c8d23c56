"""Read the stored raw replies again with today's parser and rewrite what they say, at no cost.

Every clip a model analysed keeps the model's raw reply (``clips.raw_reply``), also when the
reply could not be read (the clip is stored failed) or was read only in part. Parsers improve;
this pass lets an existing index profit without paying for a single request:

* For each clip with a raw reply, the indexer of the clip's run is rebuilt from that run's
  recorded settings (so the reply is read the way it was asked for: same adapter, provider,
  prompt, frames or video file) and reads it with :meth:`Indexer.reread`, which calls
  nothing. An indexer that cannot re-read (``can_reread`` false: the offline one) skips its clips.
* A clip whose reading differs from its stored rows (events, characters, status) is rewritten
  (:meth:`Store.rewrite_clip`): a failed clip the parser can now read becomes done; a done clip
  gets the events the old parser missed. A reading that is still incomplete (cut off) never
  replaces anything, and a reply that still cannot be read leaves its clip as it was.

Consolidation, since no model is called:

* **kept** wherever its ids survive: event and clip character ids are the clip id plus the
  reply's own keys, so the same reply read again gives the same ids, and the model's merged
  characters and cross-clip links stay attached to them;
* **placed by the rule** (:func:`~videoidx.pipeline.consolidate.place_by_rule`): clip characters
  no grouping has seen (a clip that could not be read before) join an existing character the
  rule matches, or get one of their own;
* **not proposed**: cross-clip links for new events need the model. The next ``videoidx index``
  of the video asks for them at the price of the consolidation calls alone (every clip is cached
  then, and a video whose last run ended partial is consolidated again).

Why not mark consolidation stale and leave it? The Characters tab, character search and answers
would miss the recovered characters until someone pays for a run; the rule costs nothing. Why not
re-run the rule over everything? It would throw away a model's better grouping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from indexers import REGISTRY, Indexer, create_indexer
from videoidx.errors import ConfigError, StoreError
from videoidx.pipeline.consolidate import (
    RULE_PROVENANCE,
    CharacterGroup,
    merge_members,
    place_by_rule,
)
from videoidx.replyjson import ReplyParseError
from videoidx.settings import FIELDS, Settings, resolve_settings
from videoidx.store import Store
from videoidx.store.records import StoredReply
from videoidx.types import ClipAnalysis, ClipInput, ClipSpec, VideoInfo
from videoidx.vocab import ClipStatus


@dataclass
class ReparseResult:
    """What reading one video's stored replies again changed."""

    video_id: str
    title: str
    clips_read: int = 0
    """Clips whose stored reply was read again."""
    clips_changed: int = 0
    """Clips rewritten because the reading differs from their rows."""
    clips_recovered: int = 0
    """Of those, clips stored as failed that are done now."""
    clips_unreadable: int = 0
    """Clips whose reply the parser still cannot read (or reads only in part): left as they were."""
    clips_skipped: int = 0
    """Clips whose indexer keeps no reply it can read again, or is not installed."""
    events_before: int = 0
    events_after: int = 0
    characters_placed: int = 0
    """Clip characters new to consolidation, placed by the rule."""
    notes: list[str] = field(default_factory=list)


def reparse(
    db_path: str | Path | None = None,
    *,
    video_id: str | None = None,
    settings: Settings | None = None,
    store: Store | None = None,
) -> list[ReparseResult]:
    """Read the stored raw replies of one video (``video_id``) or every video again with the
    current parser and rewrite the rows that change; no request is sent. ``store`` is opened
    from ``db_path`` (default: the ``db_path`` setting) and closed when not given."""
    settings = settings or resolve_settings()
    own_store = store is None
    if store is None:
        path = str(db_path or settings.db_path)
        if not Path(path).is_file():
            raise StoreError(f"no store at {path}; index a video first or pass --db PATH")
        store = Store.open(path)
    try:
        if video_id is not None:
            if store.video(video_id) is None:
                raise ConfigError(
                    f"video {video_id} is not in the store; `videoidx videos` lists them"
                )
            ids = [video_id]
        else:
            ids = [v.video_id for v in store.list_videos()]
        readers = _Readers(settings)
        try:
            return [_reparse_video(store, vid, readers) for vid in ids]
        finally:
            readers.close()
    finally:
        if own_store:
            store.close()


class _Readers:
    """One indexer per (adapter, run settings), built as the run built it, never called."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[str, Indexer | str] = {}

    def get(self, reply: StoredReply) -> Indexer | str:
        """The indexer that reads ``reply``, or why there is none."""
        name = reply.run_indexer or self.settings.provider.indexer
        key = json.dumps([name, reply.run_settings], sort_keys=True, default=str)
        if key not in self._built:
            self._built[key] = self._build(name, reply)
        return self._built[key]

    def _build(self, name: str, reply: StoredReply) -> Indexer | str:
        if name not in REGISTRY:
            return f"indexer {name!r} is not installed"
        recorded = {k: v for k, v in reply.run_settings.items() if k in FIELDS and k != "db_path"}
        try:
            return create_indexer(self.settings.replace(**recorded), name)
        except ConfigError as exc:
            return f"indexer {name!r} cannot be rebuilt with its run's settings: {exc}"

    def close(self) -> None:
        for built in self._built.values():
            if isinstance(built, Indexer):
                built.close()


def _reparse_video(store: Store, video_id: str, readers: _Readers) -> ReparseResult:
    info = store.video(video_id)
    assert info is not None
    result = ReparseResult(video_id, info.title)
    result.events_before = len(store.events(video_id))
    for reply in store.clip_replies(video_id):
        _reparse_clip(store, info, reply, readers, result)
    if result.clips_changed:
        result.characters_placed = _place_new_characters(store, video_id)
    result.events_after = len(store.events(video_id))
    return result


def _reparse_clip(
    store: Store,
    info: VideoInfo,
    reply: StoredReply,
    readers: _Readers,
    result: ReparseResult,
) -> None:
    clip = reply.clip
    where = f"clip {clip.clip_index} ({clip.start_s:.1f}-{clip.end_s:.1f} s)"
    reader = readers.get(reply)
    if isinstance(reader, str):
        result.clips_skipped += 1
        result.notes.append(f"{where}: skipped, {reader}")
        return
    if not reader.can_reread:
        result.clips_skipped += 1
        return
    spec = ClipSpec(clip.video_id, clip.clip_index, clip.start_s, clip.end_s)
    # No frames are needed to read a reply; a clip_path tells the reader the clip went as a
    # video file (clip-relative times) when the run's indexer took one.
    sent = ClipInput(info, spec, (), clip_path=Path(info.path) if reader.takes_video_url else None)
    try:
        analysis = reader.reread(clip.raw_reply, sent, finish_reason=reply.finish_reason)
    except ReplyParseError as exc:
        result.clips_read += 1
        result.clips_unreadable += 1
        result.notes.append(f"{where}: still unreadable ({exc})")
        return
    result.clips_read += 1
    if analysis.incomplete:
        result.clips_unreadable += 1
        result.notes.append(f"{where}: still read only in part ({analysis.incomplete})")
        return
    if clip.status == ClipStatus.DONE and _same_rows(
        store, clip.video_id, clip.clip_index, analysis
    ):
        return
    analysis.usage = reply.usage  # what the reply cost when it came; reading it again is free
    analysis.model = reply.model or analysis.model
    analysis.reasoning = reply.reasoning or analysis.reasoning
    store.rewrite_clip(clip, analysis)
    result.clips_changed += 1
    if clip.status != ClipStatus.DONE:
        result.clips_recovered += 1


def _same_rows(store: Store, video_id: str, clip_index: int, analysis: ClipAnalysis) -> bool:
    """Whether the clip's stored events and characters already say what ``analysis`` says."""
    stored_events = sorted(
        (e.start_s, e.end_s, e.label, e.description)
        for e in store.events(video_id)
        if e.clip_index == clip_index
    )
    read_events = sorted((e.start_s, e.end_s, e.label, e.description) for e in analysis.events)
    stored_people = sorted(
        (c.name, c.description)
        for c in store.clip_characters(video_id)
        if c.clip_index == clip_index
    )
    read_people = sorted((c.name, c.description) for c in analysis.characters)
    return stored_events == read_events and stored_people == read_people


def _place_new_characters(store: Store, video_id: str) -> int:
    """Keep every merged character that still has members; place clip characters that no
    grouping has seen by the rule. Returns how many were placed."""
    by_id = {c.id: c for c in store.clip_characters(video_id)}
    current = store.characters(video_id)
    placed = {m for ch in current for m in ch.member_ids}
    new = [c for c in by_id.values() if c.id not in placed]
    kept = [ch for ch in current if any(m in by_id for m in ch.member_ids)]
    if not new and len(kept) == len(current):
        return 0
    old_members = [[by_id[m] for m in ch.member_ids if m in by_id] for ch in kept]
    groups = place_by_rule([list(g) for g in old_members], new)
    merged: list[CharacterGroup] = []
    provenances: list[str] = []
    for i, members in enumerate(groups):
        if i >= len(kept):
            merged.append(merge_members(members))
            provenances.append(RULE_PROVENANCE)
            continue
        ch = kept[i]
        seen = [m.first_seen_s for m in members if m.first_seen_s is not None]
        merged.append(
            CharacterGroup(
                ch.name, ch.description, tuple(m.id for m in members), min(seen) if seen else None
            )
        )
        grew = len(members) > len(old_members[i])
        provenances.append(f"{ch.provenance}+{RULE_PROVENANCE}" if grew else ch.provenance)
    store.write_characters(video_id, merged, provenances)
    return len(new)
