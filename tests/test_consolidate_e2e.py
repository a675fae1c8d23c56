"""Consolidation end to end: a real video, a real DuckDB file, the fake provider over HTTP.

The video (``STORY``) is three 3 s shots of the moving test pattern, each tinted differently, so
each clip describes the same figure in its own words ("bouncing disc", "moving test pattern",
"round shape"; the name rule keeps them apart). The fake model groups them because their
descriptions end alike, and links the first shot's sparks to the last shot's smoke, two clips
later. So these tests fail when grouping or link proposal is broken, on either way in
(``index_video`` and ``index_many``), and they check what a user sees of it: one character with
appearances in every clip, a stored cross-clip link, and an answer to "why" that cites the cause.
The page's Characters and Causes tabs are checked in ``test_ui_consolidation_browser.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import videoidx
from indexers.glm import GlmIndexer
from tests.fake_provider import FakeProvider
from videoidx.media.synth import Segment, make_video
from videoidx.pipeline.bulk import index_many
from videoidx.pipeline.consolidate import group_characters_by_rule
from videoidx.pipeline.run import VideoResult, index_video
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store

STORY = (
    Segment("magenta", 3.0, pattern=True),  # "sparks fly"
    Segment("green", 3.0, pattern=True),
    Segment("cyan", 3.0, pattern=True),  # "smoke rises"
)
CLIP_FLAGS: dict[str, Any] = {
    "clip_target_s": 3.0,
    "clip_min_s": 2.0,
    "clip_max_s": 4.0,
    "frame_max_gap_s": 1.0,
}


@pytest.fixture(scope="module")
def story_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("story") / "story.mp4", STORY)


def model_settings(server: FakeProvider, db: Path) -> Settings:
    return resolve_settings(
        {
            "db_path": str(db),
            "indexer": "glm",
            "provider": "zai",
            "base_url": server.base_url,
            "model": server.model,
            "max_retries": 0,
            **CLIP_FLAGS,
        },
        env={},
        config_path=os.devnull,
    )


def by_index_video(video: Path, settings: Settings, server: FakeProvider) -> VideoResult:
    indexer = GlmIndexer(settings, env={"ZAI_API_KEY": server.api_key}, sleep=lambda _s: None)
    try:
        return index_video(video, settings=settings, indexer=indexer)
    finally:
        indexer.close()


def by_index_many(video: Path, settings: Settings, server: FakeProvider) -> VideoResult:
    (result,) = index_many([video], settings=settings)
    return result


WAYS_IN = [
    pytest.param(by_index_video, id="index_video"),
    pytest.param(by_index_many, id="index_many"),
]


@pytest.mark.parametrize("index", WAYS_IN)
def test_one_character_across_three_clips_and_a_cross_clip_cause(
    story_video: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index: Callable[[Path, Settings, FakeProvider], VideoResult],
) -> None:
    db = tmp_path / "story.duckdb"
    with FakeProvider("zai") as server:
        monkeypatch.setenv("ZAI_API_KEY", server.api_key)
        result = index(story_video, model_settings(server, db), server)
        assert result.status == "done", result
        consolidation_calls = [r for r in server.requests if not r.images]
    assert result.clips_total == 3
    # The characters and the events went to the model as quoted data, and it was paid for.
    sent = " ".join(str(r.body) for r in consolidation_calls)
    assert '<data label="characters">' in sent and '<data label="events">' in sent
    assert result.usage.requests == 3 + len(consolidation_calls)

    with Store.open(db, read_only=True) as store:
        clips = {c.clip_id: c.clip_index for c in store.clips(result.video_id)}
        per_clip = store.clip_characters(result.video_id)
        characters = store.characters(result.video_id)
        events = {e.id: e for e in store.events(result.video_id)}
        links = store.links(result.video_id)
        (person,) = characters
        seen = store.appearances(result.video_id, character_id=person.id)

    # Three clips saw the figure under three names; the name rule alone would keep three.
    assert sorted(c.clip_index for c in per_clip) == [0, 1, 2]
    assert len({c.name for c in per_clip}) == 3
    assert len(group_characters_by_rule(per_clip)) == 3
    # The model made them one video-level character, seen in every clip.
    assert sorted(person.member_ids) == sorted(c.id for c in per_clip)
    assert person.provenance.startswith("model:")
    assert sorted({clips[m.rsplit("-", 1)[0]] for m in person.member_ids}) == [0, 1, 2]
    assert sorted({events[a.event_id].clip_index for a in seen if a.event_id}) == [0, 1, 2]
    assert person.first_seen_s == 0.0

    # The sparks (clip 0) cause the smoke (clip 2): a link no single clip could make.
    cross = [link for link in links if link.clip_id is None]
    assert [(events[x.cause_id].label, events[x.effect_id].label) for x in cross] == [
        ("magenta screen", "cyan screen")
    ]
    (sparks_to_smoke,) = cross
    assert events[sparks_to_smoke.cause_id].clip_index == 0
    assert events[sparks_to_smoke.effect_id].clip_index == 2
    assert sparks_to_smoke.provenance.startswith("model:")


def test_why_is_answered_with_the_cross_clip_cause(story_video: Path, tmp_path: Path) -> None:
    db = tmp_path / "why.duckdb"
    with FakeProvider("zai") as server:
        settings = model_settings(server, db)
        assert by_index_video(story_video, settings, server).status == "done"
        indexer = GlmIndexer(settings, env={"ZAI_API_KEY": server.api_key})
        with Store.open(db) as store:
            answer = videoidx.ask(
                "Why is there smoke?", store=store, settings=settings, indexer=indexer
            )
            events = {e.id: e for e in store.events(answer.evidence[0].video_id)}
        indexer.close()
    assert answer.mode == "generated", answer.text
    cited = {events[c.event_id].label for c in answer.citations if c.event_id}
    # The smoke is cited, and so is its cause two clips earlier, which the question never names.
    assert cited == {"cyan screen", "magenta screen"}, answer.text
    assert "because of" in answer.text
