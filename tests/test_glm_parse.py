"""The GLM reply parser, fed literal replies shaped like what the providers really send."""

from __future__ import annotations

import json

import pytest

from indexers.glm.parse import (
    ReplyParseError,
    box_to_px,
    extract_json_text,
    loads_lenient,
    parse_analysis,
    parse_box,
    parse_time,
    split_thinking,
)
from videoidx.types import ClipSpec

CLIP = ClipSpec("vid", 1, 30.0, 60.0)
EVENTS = '{"events": [{"start_s": 31, "end_s": 35, "label": "door opens"}], "summary": "s"}'

# (name, reply content, expected JSON text after extraction)
EXTRACT_TABLE = [
    ("plain", EVENTS, EVENTS),
    ("think tags", f"<think>The door… {{maybe}}</think>\n{EVENTS}", EVENTS),
    ("box tokens", f"<|begin_of_box|>{EVENTS}<|end_of_box|>", EVENTS),
    (
        "think then box with prose",
        f"<think>hm</think>The answer is <|begin_of_box|>{EVENTS}<|end_of_box|> as requested.",
        EVENTS,
    ),
    ("json fence", f"```json\n{EVENTS}\n```", EVENTS),
    ("bare fence", f"```\n{EVENTS}\n```", EVENTS),
    ("fence inside box", f"<|begin_of_box|>```json\n{EVENTS}\n```<|end_of_box|>", EVENTS),
    ("prose around", f"Sure! Here is the JSON:\n{EVENTS}\nHope this helps.", EVENTS),
    ("top-level array", 'Events: [{"start_s": 1}] done', '[{"start_s": 1}]'),
    ("braces in strings", '{"label": "a } b", "x": "[c"} tail', '{"label": "a } b", "x": "[c"}'),
    ("closing think only", f"the model pre-filled <think>…</think>{EVENTS}", EVENTS),
    ("orphan close tag", f"reasoning without opening tag</think>{EVENTS}", EVENTS),
]


@pytest.mark.parametrize(
    ("name", "content", "expected"), EXTRACT_TABLE, ids=[t[0] for t in EXTRACT_TABLE]
)
def test_extract_json_text(name: str, content: str, expected: str) -> None:
    assert extract_json_text(content) == expected


def test_split_thinking_keeps_reasoning_and_unclosed_think_is_all_reasoning() -> None:
    assert split_thinking("<think>look</think>{}") == ("look", "{}")
    reasoning, answer = split_thinking("<think>I was cut off while thin")
    assert reasoning == "I was cut off while thin"
    assert answer == ""


LENIENT_TABLE = [
    (
        "trailing commas",
        '{"events": [{"a": 1,},], "summary": "x",}',
        {"events": [{"a": 1}], "summary": "x"},
    ),
    ("comma in string kept", '{"s": "a,]"}', {"s": "a,]"}),
    (
        "truncated inside second event",
        '{"events": [{"start_s": 1, "label": "a"}, {"start_s": 2, "lab',
        {"events": [{"start_s": 1, "label": "a"}]},
    ),
    (
        "truncated after events list",
        '{"events": [{"start_s": 1}], "characters": [{"name": "x"}, {"na',
        {"events": [{"start_s": 1}], "characters": [{"name": "x"}]},
    ),
    (
        "truncated in nested list of an event drops the event",
        '{"events": [{"start_s": 1}, {"start_s": 2, "characters": ["c1"], "obj',
        {"events": [{"start_s": 1}]},
    ),
    ("truncated array", '[{"start_s": 1}, {"start_s": 2}, {"st', [{"start_s": 1}, {"start_s": 2}]),
]


@pytest.mark.parametrize(
    ("name", "text", "expected"), LENIENT_TABLE, ids=[t[0] for t in LENIENT_TABLE]
)
def test_loads_lenient(name: str, text: str, expected: object) -> None:
    assert loads_lenient(text).value == expected


def test_loads_lenient_rejects_text_without_json() -> None:
    with pytest.raises(ReplyParseError):
        loads_lenient("I cannot help with that.")


TIME_TABLE = [
    (12, 12.0),
    (12.5, 12.5),
    ("12.5", 12.5),
    ("12.5s", 12.5),
    ("t=12.5s", 12.5),
    ("01:05", 65.0),
    ("01:05.5", 65.5),
    ("1:02:03", 3723.0),
    ("12 seconds", 12.0),
    ("soon", None),
    (None, None),
    (True, None),
]


@pytest.mark.parametrize(("value", "expected"), TIME_TABLE)
def test_parse_time(value: object, expected: float | None) -> None:
    assert parse_time(value) == expected


BOX_TABLE = [
    ([100, 200, 300, 400], (100.0, 200.0, 300.0, 400.0)),
    ([[100, 200, 300, 400]], (100.0, 200.0, 300.0, 400.0)),
    ("[835,626,931,883]", (835.0, 626.0, 931.0, 883.0)),
    ("<835, 626, 931, 883>", (835.0, 626.0, 931.0, 883.0)),
    ("(300,400,100,200)", (100.0, 200.0, 300.0, 400.0)),  # corners given the other way round
    ([1, 2, 3], None),
    ("no box", None),
]


@pytest.mark.parametrize(("value", "expected"), BOX_TABLE)
def test_parse_box(value: object, expected: object) -> None:
    assert parse_box(value) == expected


def test_box_to_px_scales_glm_thousandths_to_the_original_frame() -> None:
    assert box_to_px((835, 626, 931, 883), (1920, 1080)) == (1603.2, 676.1, 1787.5, 953.6)
    assert box_to_px((-5, 0, 1200, 1000), (640, 360)) == (0.0, 0.0, 640.0, 360.0)


# -- whole analyses --------------------------------------------------------------------------

FULL_REPLY = """<think>Frames 31-35 show a door; a man enters at 36.</think>
<|begin_of_box|>```json
{
  "events": [
    {"id": "e1", "start_s": 31.0, "end_s": 35.0, "label": "door opens",
     "description": "the front door swings open", "characters": [], "objects": ["door"],
     "location": "hallway", "on_screen_text": "EXIT", "confidence": 0.8},
    {"id": "e2", "start_s": 36, "end_s": 41.5, "label": "man enters",
     "description": "a man in a red coat walks in", "characters": ["c1"],
     "boxes": {"c1": [100, 200, 300, 900]}, "confidence": "90%"},
  ],
  "characters": [
    {"id": "c1", "name": "man in red coat", "appearance": "red coat, grey hat", "first_seen_s": 36}
  ],
  "causal_links": [
    {"cause": "e1", "effect": "e2", "relation": "enables",
     "explanation": "the open door lets him in"}
  ],
  "summary": "A door opens and a man walks in."
}
```<|end_of_box|>"""


def test_full_reply_becomes_a_clip_analysis() -> None:
    a = parse_analysis(FULL_REPLY, CLIP, frame_size=(1920, 1080), finish_reason="stop")
    assert [(e.key, e.start_s, e.end_s, e.label) for e in a.events] == [
        ("e1", 31.0, 35.0, "door opens"),
        ("e2", 36.0, 41.5, "man enters"),
    ]
    e1, e2 = a.events
    assert (e1.objects, e1.location, e1.on_screen_text, e1.confidence) == (
        ("door",),
        "hallway",
        "EXIT",
        0.8,
    )
    assert e2.characters == ("c1",)
    assert e2.confidence == 0.9
    assert [(c.key, c.name, c.description, c.first_seen_s) for c in a.characters] == [
        ("c1", "man in red coat", "red coat, grey hat", 36.0)
    ]
    (app,) = a.appearances
    assert (app.character_key, app.event_key, app.start_s, app.end_s) == ("c1", "e2", 36.0, 41.5)
    assert app.box_px == (192.0, 216.0, 576.0, 972.0)
    assert [(lk.cause_key, lk.effect_key, lk.relation) for lk in a.links] == [
        ("e1", "e2", "enables")
    ]
    assert a.summary == "A door opens and a man walks in."
    assert a.reasoning == "Frames 31-35 show a door; a man enters at 36."
    assert a.raw_reply == FULL_REPLY
    assert (a.dropped_items, a.clamped_items) == (0, 0)


def test_key_synonyms_and_mmss_strings() -> None:
    reply = json.dumps(
        [
            {
                "start": "00:32",
                "end": "0:34.5",
                "event": "ball kicked",
                "evidence": "a foot hits it",
            },
            {
                "time": ["00:40", "00:45"],
                "title": "goal",
                "details": "net moves",
                "people": "striker",
            },
        ]
    )
    a = parse_analysis(reply, CLIP)
    assert [(e.start_s, e.end_s, e.label, e.description) for e in a.events] == [
        (32.0, 34.5, "ball kicked", "a foot hits it"),
        (40.0, 45.0, "goal", "net moves"),
    ]
    # A character named only inside an event still becomes a character.
    assert [(c.key, c.name, c.first_seen_s) for c in a.characters] == [("c1", "striker", 40.0)]
    assert a.events[1].characters == ("c1",)


def test_times_outside_the_clip_are_clamped_or_dropped_and_counted() -> None:
    reply = json.dumps(
        {
            "events": [
                {"start_s": 25, "end_s": 33, "label": "sticks out before"},  # clamped
                {"start_s": 58, "end_s": 64, "label": "sticks out after"},  # clamped
                {"start_s": 10, "end_s": 20, "label": "another clip"},  # dropped
                {"start_s": 70, "end_s": 75, "label": "later clip"},  # dropped
                {"label": "no time at all"},  # dropped
                {"start_s": 50, "end_s": 45, "label": "reversed"},  # swapped, inside
            ],
            "causal_links": [{"cause": "e1", "effect": 3}],
        }
    )
    a = parse_analysis(reply, CLIP)
    assert [(e.start_s, e.end_s, e.label) for e in a.events] == [
        (30.0, 33.0, "sticks out before"),
        (58.0, 60.0, "sticks out after"),
        (45.0, 50.0, "reversed"),
    ]
    assert a.clamped_items == 2
    # 3 events dropped, and the link whose effect (position 3) was a dropped event.
    assert a.dropped_items == 4
    assert a.links == []


def test_clip_relative_times_become_absolute_once() -> None:
    reply = (
        '{"events": [{"start_s": 0, "end_s": 4, "label": "a"}, '
        '{"start_s": 29, "end_s": 33, "label": "b"}]}'
    )
    a = parse_analysis(reply, CLIP, relative_times=True)
    assert [(e.start_s, e.end_s) for e in a.events] == [(30.0, 34.0), (59.0, 60.0)]
    assert a.clamped_items == 1


def test_links_by_position_and_by_id() -> None:
    reply = json.dumps(
        {
            "events": [
                {"id": "open", "start_s": 31, "end_s": 32, "label": "a"},
                {"id": "walk", "start_s": 33, "end_s": 34, "label": "b"},
            ],
            "links": [
                {"cause": "open", "effect": "walk"},
                {"cause": 1, "effect": 2, "relation": "precedes"},
                {"cause": "open", "effect": "open"},  # self-link: dropped
            ],
        }
    )
    a = parse_analysis(reply, CLIP)
    assert [(lk.cause_key, lk.effect_key, lk.relation) for lk in a.links] == [
        ("e1", "e2", "causes"),
        ("e1", "e2", "precedes"),
    ]
    assert a.dropped_items == 1


def test_truncated_reply_keeps_complete_items() -> None:
    reply = (
        '<|begin_of_box|>{"events": [{"start_s": 31, "end_s": 33, "label": "a"}, '
        '{"start_s": 34, "end_s": 36, "label": "b"}, {"start_s": 37, "end_s": 3'
    )
    a = parse_analysis(reply, CLIP, finish_reason="length")
    assert [e.label for e in a.events] == ["a", "b"]
    assert a.finish_reason == "length"
    assert a.raw_reply == reply


def test_reply_cut_off_while_thinking_is_empty_not_an_error() -> None:
    a = parse_analysis("<think>Let me look at frame one, then", CLIP, finish_reason="length")
    assert a.events == []
    assert a.reasoning == "Let me look at frame one, then"


@pytest.mark.parametrize(
    "reply",
    ["I am sorry, I cannot describe this video.", '"just a string"', '{"answer": 42}', ""],
)
def test_unreadable_replies_raise(reply: str) -> None:
    with pytest.raises(ReplyParseError):
        parse_analysis(reply, CLIP, finish_reason="stop")


def test_empty_lists_are_a_valid_answer() -> None:
    a = parse_analysis(
        '{"events": [], "characters": [], "causal_links": [], "summary": "static"}', CLIP
    )
    assert (a.events, a.summary) == ([], "static")


def test_character_box_without_frame_size_is_not_invented() -> None:
    reply = (
        '{"events": [], "characters": [{"name": "cat", "first_seen_s": 40, "box": [0,0,500,500]}]}'
    )
    assert parse_analysis(reply, CLIP).appearances == []
    (app,) = parse_analysis(reply, CLIP, frame_size=(640, 480)).appearances
    assert app.box_px == (0.0, 0.0, 320.0, 240.0)
    assert app.start_s == 40.0


def test_odd_shapes_never_raise_anything_but_reply_parse_error() -> None:
    import random

    rng = random.Random(7)
    leaves: list[object] = [None, True, 3, -2.5, "", "x", "00:31", "12s", [], {}, [1, 2, 3, 4]]
    keys = ["events", "characters", "causal_links", "summary", "start_s", "end_s", "label",
            "id", "cause", "effect", "boxes", "characters", "first_seen_s", "box", "confidence",
            "name", "time", "c1", "e1"]  # fmt: skip

    def value(depth: int) -> object:
        roll = rng.random()
        if depth > 3 or roll < 0.4:
            return rng.choice(leaves)
        if roll < 0.7:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 5))}

    for _ in range(2000):
        reply = json.dumps({"events": value(1), "characters": value(1), "links": value(1)})
        try:
            a = parse_analysis(reply, CLIP, frame_size=(640, 480))
        except ReplyParseError:
            continue
        for e in a.events:
            assert CLIP.start_s <= e.start_s <= e.end_s <= CLIP.end_s


@pytest.mark.parametrize(
    ("reply", "finish_reason", "says"),
    [
        ('{"events": [{"start_s": 31, "label": "a"}, {"start_s": 3', "length", "1 complete event"),
        ('{"events": [{"start_s": 31, "label": "a", "descr', "length", "before any complete item"),
        ('{"events": [{"start_s": 31, "label": "a"}, {"start_s": 3', "stop", "ends in the middle"),
        ("<think>Let me look at frame one, then", "length", "before any complete item"),
        ('{"note": "the events follow"}', "length", "before its events"),
    ],
    ids=["cut-mid-event", "cut-in-first-event", "cut-without-finish-reason", "cut-thinking",
         "cut-before-events"],
)  # fmt: skip
def test_partly_read_reply_says_why(reply: str, finish_reason: str, says: str) -> None:
    a = parse_analysis(reply, CLIP, finish_reason=finish_reason)
    assert says in a.incomplete


@pytest.mark.parametrize("finish_reason", ["stop", "length"])
def test_whole_json_is_complete_even_at_the_limit(finish_reason: str) -> None:
    reply = '{"events": [{"start_s": 31, "end_s": 33, "label": "a"}], "summary": "s"}'
    a = parse_analysis(reply, CLIP, finish_reason=finish_reason)
    assert a.incomplete == "" and [e.label for e in a.events] == ["a"]
