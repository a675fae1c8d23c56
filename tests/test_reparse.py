"""``videoidx reparse``: stored raw replies read again with today's parser, rows rewritten, and
not one request sent (the fake provider stays up and counts).

The index is made for real (synthetic video, fake provider over HTTP, DuckDB file), then damaged
the way an older parser would have left it: a clip stored as failed because its reply "could not
be read", and a done clip from whose reply no event was read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import videoidx
from tests.fake_provider import FakeProvider
from tests.test_consolidate_e2e import by_index_video, model_settings, story_video  # noqa: F401
from videoidx.cli import main
from videoidx.pipeline.consolidate import RULE_PROVENANCE
from videoidx.store import Store
from videoidx.types import ClipAnalysis, ClipInput, ClipSpec, Usage


def snapshot(store: Store, video_id: str) -> dict[str, Any]:
    """Everything reparse may touch, in comparable form."""
    return {
        "clips": sorted((c.clip_id, c.status, c.event_count) for c in store.clips(video_id)),
        "events": [
            (e.id, e.start_s, e.end_s, e.label, e.description) for e in store.events(video_id)
        ],
        "clip_characters": store.clip_characters(video_id),
        "characters": [(c.name, c.provenance, c.member_ids) for c in store.characters(video_id)],
        "links": sorted(
            (x.cause_id, x.effect_id, x.clip_id, x.provenance) for x in store.links(video_id)
        ),
        "thumbnails": sum(store.thumbnail(e.id) is not None for e in store.events(video_id)),
    }


def indexed(tmp_path: Path, video: Path, server: FakeProvider) -> tuple[Path, str]:
    db = tmp_path / "r.duckdb"
    result = by_index_video(video, model_settings(server, db), server)
    assert result.status == "done", result
    return db, result.video_id


def test_reparse_of_an_intact_index_changes_nothing_and_keeps_consolidation(
    story_video: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    with FakeProvider("zai") as server:
        db, video_id = indexed(tmp_path, story_video, server)
        with Store.open(db) as store:
            before = snapshot(store, video_id)
            sent = len(server.requests)
            (result,) = videoidx.reparse(store=store, video_id=video_id)
            after = snapshot(store, video_id)
        assert len(server.requests) == sent  # not one request
    assert (result.clips_read, result.clips_changed) == (3, 0)
    assert after == before
    # The model's consolidation is there: one character, the sparks -> smoke link.
    assert len(before["characters"]) == 1 and before["characters"][0][1].startswith("model:")
    assert [x for x in before["links"] if x[2] is None]


def damage(store: Store, video_id: str) -> None:
    """What older parsers left: clip 1 failed as unreadable, clip 2 done without its events."""
    clips = {c.clip_index: c for c in store.clips(video_id)}
    for index, status in ((1, "failed"), (2, "done")):
        c = clips[index]
        assert c.run_id is not None and c.raw_reply
        store.write_clip(
            c.run_id,
            ClipSpec(video_id, c.clip_index, c.start_s, c.end_s),
            c.cache_key,
            ClipAnalysis(raw_reply=c.raw_reply, usage=Usage(prompt_tokens=99, requests=1)),
            status=status,
            error="the answer could not be read as an analysis" if status == "failed" else None,
        )
    # A run with a clip it could not read ends partial.
    store.finish_run(clips[0].run_id or "", "partial", Usage(requests=5))


def test_reparse_restores_what_an_older_parser_lost_at_no_cost(
    story_video: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeProvider("zai") as server:
        db, video_id = indexed(tmp_path, story_video, server)
        with Store.open(db) as store:
            good = snapshot(store, video_id)
            damage(store, video_id)
            damaged = snapshot(store, video_id)
        assert len(damaged["events"]) == 1 and not [x for x in damaged["links"] if x[2] is None]
        sent = len(server.requests)

        assert main(["reparse", "--db", str(db), "--video", video_id]) == 0
        assert len(server.requests) == sent  # not one request
        printed = capsys.readouterr().out
        assert "3 clips re-read, 2 rewritten (1 failed before), events 1 -> 3" in printed

        with Store.open(db) as store:
            back = snapshot(store, video_id)
            clips = store.clips(video_id)
            characters = store.characters(video_id)
        # Every event and clip character is back, under the ids it had; every clip is done.
        assert back["events"] == good["events"]
        assert back["clip_characters"] == good["clip_characters"]
        assert [c.status for c in clips] == ["done"] * 3
        assert {c.error for c in clips} == {None}
        # The model's character keeps its clip-0 member; the recovered clips' characters are
        # placed by the rule, which cannot tell that three different names are one figure.
        members = sorted(m for c in characters for m in c.member_ids)
        assert members == sorted(c.id for c in good["clip_characters"])
        assert sorted(c.provenance.startswith("model:") for c in characters) == [False, False, True]
        assert {c.provenance for c in characters if not c.provenance.startswith("model:")} == {
            RULE_PROVENANCE
        }

        # The cross-clip link needs the model: the next index run asks for consolidation only.
        again = by_index_video(story_video, model_settings(server, db), server)
        new_requests = server.requests[sent:]
    assert again.clips_cached == 3 and again.clips_analysed == 0
    assert new_requests and not any(r.images for r in new_requests)
    with Store.open(db, read_only=True) as store:
        assert snapshot(store, video_id)["characters"] == good["characters"]
        assert snapshot(store, video_id)["links"] == good["links"]


def test_a_reply_still_unreadable_is_left_as_it_was(
    story_video: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    with FakeProvider("zai") as server:
        db, video_id = indexed(tmp_path, story_video, server)
        with Store.open(db) as store:
            c = store.clips(video_id)[0]
            store.write_clip(
                c.run_id or "",
                ClipSpec(video_id, c.clip_index, c.start_s, c.end_s),
                c.cache_key,
                ClipAnalysis(raw_reply="I'm sorry, I can't analyse these frames."),
                status="failed",
                error="unreadable",
            )
            before = snapshot(store, video_id)
            (result,) = videoidx.reparse(store=store)
            assert snapshot(store, video_id) == before
        assert len([r for r in server.requests if r.images]) == 3
    assert (result.clips_read, result.clips_unreadable, result.clips_changed) == (3, 1, 0)
    assert "still unreadable" in result.notes[0]


def test_rewriting_a_clip_keeps_its_thumbnails_character_and_cross_clip_links(
    story_video: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    from indexers.glm import GlmIndexer

    with FakeProvider("zai") as server:
        db, video_id = indexed(tmp_path, story_video, server)
        settings = model_settings(server, db)
    reader = GlmIndexer(settings)
    with Store.open(db) as store:
        before = snapshot(store, video_id)
        info = store.video(video_id)
        assert info is not None
        for c in store.clips(video_id):  # clip 0 holds the cause, clip 2 the effect
            spec = ClipSpec(video_id, c.clip_index, c.start_s, c.end_s)
            store.rewrite_clip(c, reader.reread(c.raw_reply, ClipInput(info, spec, ())))
        assert snapshot(store, video_id) == before
    assert before["thumbnails"] == len(before["events"]) == 3
