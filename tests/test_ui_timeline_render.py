"""The timeline's drawing rules (issue 17, item 4): shots drawn once, the last axis label whole."""

from __future__ import annotations

from ui.render import Bar, timeline_html
from videoidx.types import ShotCut

CUTS = [ShotCut(frame=75, time_s=3.0), ShotCut(frame=150, time_s=6.0)]


def bars(label: str, starts: list[float], duration_s: float = 9.0) -> list[Bar]:
    ends = [*starts[1:], duration_s]
    return [
        Bar(f"{label}{i}", a, b, label, "d")
        for i, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]


def test_a_lane_of_shot_events_replaces_the_shots_band() -> None:
    html = timeline_html("v", 9.0, bars("shot", [0.0, 3.04, 6.0]), CUTS)
    assert "vx-shots" not in html


def test_the_band_stays_when_no_lane_starts_at_every_shot() -> None:
    for lane in (bars("moving", [0.0, 4.5]), bars("shot", [0.0, 3.0]), bars("x", [0, 3, 6, 7.5])):
        assert "vx-shots" in timeline_html("v", 9.0, lane, CUTS)


def test_the_last_axis_label_is_drawn_leftwards_from_its_tick() -> None:
    html = timeline_html("v", 10.0, bars("moving", [0.0, 5.0], 10.0), [])
    axis = html.split('class="vx-lane vx-axis"')[1]
    assert axis.count("vx-tick-end") == 1
    assert '<span class="vx-tick-end" style="left:100.000%">0:10</span>' in axis
