"""plan_clips: a pure function, tested with no video at all."""

from __future__ import annotations

import itertools
import random

import pytest

from tests.storefix import video_info
from videoidx import plan_clips
from videoidx.media.plan import clip_count_range
from videoidx.settings import MediaSettings
from videoidx.types import ShotCut, VideoInfo


def info(duration_s: float) -> VideoInfo:
    return video_info("v", "x", duration_s)


def cuts_at(*times: float) -> list[ShotCut]:
    return [ShotCut(frame=round(t * 25), time_s=t) for t in times]


def test_short_video_is_one_clip() -> None:
    for d in (0.5, 12.0, 32.9):
        clips = plan_clips(info(d), cuts_at(3.0), MediaSettings())
        assert [(c.start_s, c.end_s) for c in clips] == [(0.0, d)]


def test_clips_cover_the_video_within_bounds() -> None:
    m = MediaSettings()
    rng = random.Random(7)
    for _ in range(50):
        d = rng.uniform(41, 3000)
        cuts = cuts_at(*sorted(rng.uniform(0, d) for _ in range(rng.randint(0, 200))))
        clips = plan_clips(info(d), cuts, m)
        assert clips[0].start_s == 0.0 and clips[-1].end_s == pytest.approx(d)
        for a, b in itertools.pairwise(clips):
            assert a.end_s == b.start_s
        for c in clips:
            assert m.clip_min_s - 1e-6 <= c.duration_s <= m.clip_max_s + 1e-6
        assert [c.index for c in clips] == list(range(len(clips)))


def test_boundary_snaps_to_the_cut_nearest_the_target() -> None:
    clips = plan_clips(info(100), cuts_at(5.0, 21.5, 28.0, 60.0), MediaSettings())
    assert clips[0].end_s == 28.0  # target 25, snap window +-6: 28 is nearer than 21.5
    # no cut within 6 s of 28 + 25 = 53 (60 is 7 s away): the target itself
    assert clips[1].end_s == pytest.approx(53.0)


def test_without_cuts_clips_have_the_target_length() -> None:
    clips = plan_clips(info(100), [], MediaSettings(clip_target_s=20, clip_min_s=8))
    assert [c.end_s for c in clips] == [20, 40, 60, 80, 100]


def test_tail_is_never_shorter_than_min() -> None:
    m = MediaSettings(clip_target_s=25, clip_min_s=8, clip_max_s=40)
    clips = plan_clips(info(53), [], m)
    assert all(c.duration_s >= 8 for c in clips)
    assert clips[-1].end_s == 53


def test_overlap_starts_clips_earlier() -> None:
    m = MediaSettings(clip_overlap_s=2.0)
    clips = plan_clips(info(100), [], m)
    assert clips[0].start_s == 0.0
    for a, b in itertools.pairwise(clips):
        assert b.start_s == pytest.approx(a.end_s - 2.0)


def test_plan_of_a_prefix_of_cuts_agrees_with_the_final_plan() -> None:
    # What lets the one-pass scanner finish clips before the decode ends.
    m = MediaSettings()
    rng = random.Random(3)
    d = 900.0
    all_cuts = cuts_at(*sorted(rng.uniform(0, d) for _ in range(120)))
    final = plan_clips(info(d), all_cuts, m)
    for known_until in (50.0, 200.0, 555.0):
        partial = plan_clips(info(d), [c for c in all_cuts if c.time_s <= known_until], m)
        for a, b in zip(partial, final, strict=False):
            if a.start_s + m.clip_overlap_s + m.clip_max_s > known_until:
                break
            assert a == b


@pytest.mark.parametrize(
    "m",
    [MediaSettings(), MediaSettings(clip_target_s=10, clip_min_s=6, clip_max_s=11, shot_snap_s=3)],
    ids=["defaults", "min over half of max"],
)
def test_any_cuts_give_a_clip_count_within_the_range_a_dry_run_states(m: MediaSettings) -> None:
    # A dry run plans without the shot pass: the count it states must hold whatever cuts the
    # real run finds, including the cuts that pull every boundary to one end of its window.
    rng = random.Random(7)
    seen: set[tuple[int, int, int]] = set()
    for _ in range(400):
        duration = rng.uniform(1, 400)
        fewest, most = clip_count_range(duration, m)
        assert fewest <= len(plan_clips(info(duration), [], m)) <= most
        for n_cuts in (0, 3, 30, 300):
            cuts = cuts_at(*sorted(rng.uniform(0, duration) for _ in range(n_cuts)))
            made = len(plan_clips(info(duration), cuts, m))
            assert fewest <= made <= most, (duration, fewest, most, made)
            seen.add((fewest, most, made))
    # The range is tight: both of its ends are reached by some cuts.
    assert any(f == made < mo for f, mo, made in seen)
    assert any(f < made == mo for f, mo, made in seen)


def test_a_cut_after_the_target_makes_one_clip_fewer_and_the_range_says_so() -> None:
    m = MediaSettings()
    # 60 s without cuts: 0-25, 25-50, 50-60. A cut at 31 s leaves 29 s: one clip, not two.
    assert len(plan_clips(info(60), [], m)) == 3
    assert len(plan_clips(info(60), cuts_at(31), m)) == 2
    assert clip_count_range(60, m) == (2, 3)
