"""A small story in a store, for the Q&A tests: a street scene and a kitchen, with known times.

Street (600 s, six clips of 100 s): a car drives (0:10); the woman in red enters (0:40); a dog
runs onto the road (1:50) and causes the car to stop (1:56); an explosion (4:10) causes the crowd
to run (4:30); the woman in red talks (5:10); she leaves in a taxi (7:00); the street is empty
(9:50). Kitchen (120 s, one clip): a kettle boils (0:10), a cat jumps (1:00).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from tests.storefix import start, video_info
from videoidx.store import Store
from videoidx.types import Appearance, CausalLink, Character, ClipAnalysis, ClipSpec, Event

STREET = "vid-street"
KITCHEN = "vid-kitchen"


class Beat(NamedTuple):
    start_s: float
    end_s: float
    label: str
    description: str
    woman: bool = False


STREET_CLIPS: list[list[Beat]] = [
    [
        Beat(10, 20, "car drives", "a blue car drives down the street"),
        Beat(40, 50, "woman enters", "a woman in a red coat walks in from the left", True),
    ],
    [
        Beat(110, 115, "dog runs", "a dog runs onto the road"),
        Beat(116, 125, "car stops", "the blue car brakes hard and stops"),
    ],
    [
        Beat(250, 260, "explosion", "a gas canister explodes at the kiosk"),
        Beat(270, 280, "crowd runs", "people run away from the smoke"),
    ],
    [Beat(310, 330, "woman talks", "she talks on the phone by the kiosk", True)],
    [Beat(420, 440, "woman leaves", "she gets into a taxi and leaves", True)],
    [Beat(590, 600, "street empty", "the street is empty at dusk")],
]
# Cause -> effect inside a clip, by (clip index, event index).
STREET_LINKS = {1: (0, 1, "the dog is in the car's path"), 2: (0, 1, "the blast scares them")}
KITCHEN_BEATS = [
    Beat(10, 20, "kettle boils", "steam rises from the kettle"),
    Beat(60, 70, "cat jumps", "a cat jumps on the table"),
]


def _analysis(beats: list[Beat], link: tuple[int, int, str] | None) -> ClipAnalysis:
    events = [
        Event(f"e{i + 1}", b.start_s, b.end_s, b.label, b.description, ("c1",) if b.woman else ())
        for i, b in enumerate(beats)
    ]
    woman = [e for e, b in zip(events, beats, strict=True) if b.woman]
    return ClipAnalysis(
        events=events,
        characters=[Character("c1", "woman in red", "red coat", woman[0].start_s)] if woman else [],
        appearances=[Appearance("c1", e.start_s, e.end_s, e.key) for e in woman],
        links=[CausalLink(f"e{link[0] + 1}", f"e{link[1] + 1}", "causes", link[2])] if link else [],
    )


def _write(
    store: Store, video_id: str, title: str, clips: list[list[Beat]], length_s: float
) -> None:
    store.upsert_video(video_info(video_id, title=title, duration_s=length_s * len(clips)))
    run = start(store, video_id)
    for i, beats in enumerate(clips):
        spec = ClipSpec(video_id, i, i * length_s, (i + 1) * length_s)
        link = STREET_LINKS.get(i) if video_id == STREET else None
        store.write_clip(run, spec, f"{video_id}-{i}", _analysis(beats, link))


def story_store(path: Path) -> Store:
    """The street and kitchen videos, indexed."""
    store = Store.open(path)
    _write(store, STREET, "Street", STREET_CLIPS, 100.0)
    _write(store, KITCHEN, "Kitchen", [KITCHEN_BEATS], 120.0)
    return store
