"""The offline timeline through the whole pipeline, on real footage (issue 17 item 10).

The offline indexer trusts the pipeline's shot cuts (no cut handed in means none: a fade from
black is not a cut), numbers shots per video, keeps "starts at a hard cut" on a cut that is also
a clip boundary, and writes no word into every shot description.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from indexers.local.visual import PALETTE
from videoidx import index_video, resolve_settings
from videoidx.store import Store, search

MEDIA = Path(__file__).resolve().parent.parent.parent / "shared" / "media"
TRUTH = json.loads((MEDIA / "media.json").read_text()) if (MEDIA / "media.json").exists() else {}
pytestmark = pytest.mark.skipif(not TRUTH, reason="../shared/media is not beside the repository")


def _index(tmp_path: Path, name: str, **media: float) -> tuple[Store, str]:
    db = tmp_path / "lib.duckdb"
    settings = resolve_settings(
        {"db_path": str(db), "local_ocr": False, "transcriber": "none", **media},
        env={},
        config_path=os.devnull,
    )
    result = index_video(MEDIA / name, settings=settings)
    assert result.status == "done", result
    return Store.open(db), result.video_id


def _shots(store: Store, video_id: str) -> list[tuple[float, str]]:
    return [(e.start_s, e.description) for e in store.events(video_id) if e.label == "shot"]


def test_every_cut_is_one_hard_cut_shot_numbered_per_video_across_clips(tmp_path: Path) -> None:
    # Clips of about 2.5 s put most clip bounds on the five cuts of this 10 s file.
    store, vid = _index(tmp_path, "skv_bikes.mp4", clip_target_s=2.5, clip_min_s=1, clip_max_s=4)
    with store:
        truth = TRUTH["skv_bikes.mp4"]["cut_times_s"]
        clips = store.clips(vid)
        assert len(clips) >= 3
        starts = {round(c.start_s, 2) for c in clips}
        assert starts & {round(t, 2) for t in truth}, "no clip starts at a cut: nothing tested"
        hits = search(store, "hard cut", video_ids=[vid], limit=50)
        at_cut = sorted(h.start_s for h in hits if "starts at a hard cut" in h.description)
        assert len(at_cut) == len(truth)
        for got, want in zip(at_cut, truth, strict=True):
            assert abs(got - want) <= 0.05, (at_cut, truth)
        shots = sorted(_shots(store, vid))
        numbers = [int(re.match(r"shot (\d+),", d).group(1)) for _, d in shots]  # type: ignore[union-attr]
        # One shot event per shot of the video, numbered 1..6 in time order, never restarting.
        assert numbers == list(range(1, len(truth) + 2))
        assert not [d for _, d in shots if "this clip" in d]


def test_a_fade_in_from_black_is_not_a_cut(tmp_path: Path) -> None:
    assert TRUTH["skv_bigbuckbunny.mp4"]["hard_cuts"] == []
    store, vid = _index(
        tmp_path, "skv_bigbuckbunny.mp4", clip_target_s=2, clip_min_s=1, clip_max_s=3
    )
    with store:
        shots = _shots(store, vid)
        assert not [d for _, d in shots if "hard cut" in d], shots
        assert [int(re.match(r"shot (\d+),", d).group(1)) for _, d in shots] == [1] * len(shots)  # type: ignore[union-attr]
        assert not search(store, "hard cut", video_ids=[vid])
        replies = [json.loads(r.clip.raw_reply) for r in store.clip_replies(vid)]
        assert {r["cuts"]["source"] for r in replies} == {"given"}


def test_no_word_is_in_every_shot_description(tmp_path: Path) -> None:
    store, vid = _index(tmp_path, "skv_bikes.mp4")
    with store:
        shots = _shots(store, vid)
        assert len(shots) == len(TRUTH["skv_bikes.mp4"]["cut_times_s"]) + 1
        hits = {h.event_id for h in search(store, "colour", video_ids=[vid], limit=50)}
        shot_ids = {e.id for e in store.events(vid) if e.label == "shot"}
        assert not hits & shot_ids
        # What the footage is (all its shots are medium grey) may repeat; wording may not.
        content = {*PALETTE, "dark", "medium", "bright", "shot", "s"}
        words = [set(re.findall(r"[a-z]+", re.sub("#[0-9a-f]+", "", d.lower()))) for _, d in shots]
        common = set.intersection(*words) - content
        assert not common, f"words in every shot description: {common}"
