"""``videoidx eval``: moment-retrieval files read, scored by hand-checked metrics, end to end."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.storefix import start, video_info
from videoidx.cli import main
from videoidx.errors import ConfigError, DatasetError
from videoidx.evaluate import baseline, evaluate, iou, read_moments, score, typical_window
from videoidx.store import Store, search
from videoidx.store.search import MODES
from videoidx.types import ClipAnalysis, ClipSpec, Event, ScreenText, SpeechSegment

# -- files --------------------------------------------------------------------------------------


def test_charades_lines_are_read(tmp_path: Path) -> None:
    f = tmp_path / "sta.txt"
    f.write_text(
        "AO8RW 0.0 6.9##a person is putting a book on a shelf.\n\n  Y6R7T 3 12.5##Opens  a door \n"
    )
    got = read_moments(f)
    assert [(q.video, q.query, q.windows, q.line) for q in got] == [
        ("AO8RW", "a person is putting a book on a shelf.", ((0.0, 6.9),), 1),
        ("Y6R7T", "Opens a door", ((3.0, 12.5),), 3),
    ]


def test_qvhighlights_jsonl_is_read_with_every_window(tmp_path: Path) -> None:
    f = tmp_path / "qv.jsonl"
    rows = [
        {"qid": 7, "query": "A man cooks", "vid": "abc_60.0_210.0", "duration": 150,
         "relevant_windows": [[10, 20], [40.5, 48]]},
        {"query": "dog", "vid": "xyz", "relevant_windows": [[0, 2]]},
    ]  # fmt: skip
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    got = read_moments(f)  # sniffed: the first line is a JSON object
    assert got[0].windows == ((10.0, 20.0), (40.5, 48.0)) and got[0].qid == "7"
    assert (got[1].video, got[1].query, got[1].line) == ("xyz", "dog", 2)
    assert read_moments(f, "qvhighlights") == got


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("vid-a 1.0##a query", "expected 'VIDEO START END##query'"),
        ("vid-a 1.0 2.0 a query", "expected 'VIDEO START END##query'"),
        ("vid-a 1 two##a query", "'two' is not a time"),
        ("vid-a 5 2##a query", "ends (2 s) before it starts (5 s)"),
        ("vid-a -1 2##a query", "'-1' is not a time"),
        ("vid-a 1 2##   ", "the query is empty"),
    ],
)
def test_malformed_charades_lines_name_the_line(tmp_path: Path, line: str, says: str) -> None:
    f = tmp_path / "bad.txt"
    f.write_text(f"ok 0 1##fine\n{line}\n")
    with pytest.raises(DatasetError) as err:
        read_moments(f)
    assert f"{f} line 2" in str(err.value) and says in str(err.value)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"query": "x", "vid": "a", "relevant_windows": [[1, 2]]', "not a JSON object"),
        ('{"query": "x", "vid": "a"}', "missing relevant_windows (the QVHighlights test split"),
        ('{"vid": "a", "relevant_windows": [[1, 2]]}', "missing query"),
        ('{"query": "x", "vid": "a", "relevant_windows": [[1, 2, 3]]}', "not [start, end]"),
        ('{"query": "x", "vid": "a", "relevant_windows": []}', "non-empty list"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_qvhighlights_lines_name_the_line(tmp_path: Path, line: str, says: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"query": "x", "vid": "a", "relevant_windows": [[1, 2]]}\n' + line + "\n")
    with pytest.raises(DatasetError) as err:
        read_moments(f, "qvhighlights")
    assert f"{f} line 2" in str(err.value) and says in str(err.value)


def test_missing_and_empty_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        read_moments(tmp_path / "none.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(DatasetError, match="holds no queries"):
        read_moments(tmp_path / "empty.txt")


# -- metrics ------------------------------------------------------------------------------------


def test_iou_by_hand() -> None:
    assert iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert iou((0, 10), (0, 10)) == 1.0
    assert iou((0, 4), (6, 8)) == 0.0 and iou((0, 4), (4, 8)) == 0.0
    assert iou((2, 3), (0, 10)) == pytest.approx(0.1)
    assert iou((2, 2), (2, 2)) == 1.0 and iou((2, 2), (0, 4)) == 0.0


def test_r1_mean_iou_and_recall_at_5_by_hand() -> None:
    truths = [[(0, 10)], [(10, 20)], [(0, 10), (40, 50)], [(5, 10)]]
    ranked = [
        [(0, 8), (20, 30)],  # top IoU 0.8
        [(30, 40), (12, 20)],  # top IoU 0, but the second hit has 0.8: recall only
        [(40, 46)],  # 0.6 against the second true window
        [],  # nothing found
    ]
    s = score(ranked, truths)
    assert (s.queries, s.r1_iou_05, s.r1_iou_07) == (4, 0.5, 0.25)
    assert s.mean_iou == pytest.approx((0.8 + 0 + 0.6 + 0) / 4)
    assert s.recall_at_5 == 0.75
    # Recall stops at the fifth hit: a sixth that matches does not count.
    late = [[(30, 31)] * 5 + [(0, 10)]]
    assert score(late, [[(0, 10)]]).recall_at_5 == 0.0
    assert score([[(30, 31)] * 4 + [(0, 10)]], [[(0, 10)]]).recall_at_5 == 1.0


def test_baseline_is_the_most_typical_window() -> None:
    truths = [[(0, 10)], [(0, 10)], [(0, 12)], [(50, 60)]]
    # Summed IoU: (0,10) 1 + 1 + 10/12 + 0; (0,12) 2 * 10/12 + 1; (50,60) 1.
    window, s = baseline(truths)
    assert window == (0.0, 10.0)
    assert (s.r1_iou_05, s.r1_iou_07, s.recall_at_5) == (0.75, 0.75, 0.75)
    assert s.mean_iou == pytest.approx((1 + 1 + 10 / 12 + 0) / 4)
    assert typical_window([[(20, 30)], [(0, 10)]]) == (0.0, 10.0)  # a tie: the earliest
    assert typical_window([[(0, 1)], [(50, 60)], [(51, 60)]]) == (50.0, 60.0)


# -- end to end ---------------------------------------------------------------------------------


def _library(path: Path) -> Store:
    """Two indexed videos with speech, on-screen text and events at known times, and two
    unindexed videos that share a title (so that name is ambiguous)."""
    store = Store.open(path)
    content = {
        ("vid-a", "Cooking show", "kitchen"): ClipAnalysis(
            events=[Event("e1", 50.0, 58.0, "cat", "a cat jumps onto the counter")],
            speech=[SpeechSegment(10.0, 14.0, "add the chopped onions now")],
            screen_text=[ScreenText(30.0, 35.0, "Step two: bake for forty minutes")],
        ),
        ("vid-b", "Garden", "garden"): ClipAnalysis(
            events=[Event("e1", 20.0, 30.0, "dog", "a dog digs a hole")],
            speech=[SpeechSegment(5.0, 9.0, "water the tomatoes every morning")],
        ),
    }
    for (vid, title, stem), analysis in content.items():
        info = dataclasses.replace(video_info(vid, title=title), path=f"/videos/{stem}.mp4")
        store.upsert_video(info)
        store.write_clip(start(store, vid), ClipSpec(vid, 0, 0.0, 60.0), f"{vid}-k", analysis)
    for vid in ("vid-c", "vid-d"):
        store.upsert_video(video_info(vid, title="Untitled"))
    return store


QUERIES = """\
kitchen 10.0 14.0##chopping onion
Cooking show 30 35##bake
vid-a 48 58##cat jumping
VID-B 5 9##tomato watering
garden 10 14##onions
mystery 0 5##anything at all
Untitled 0 5##anything
"""
# By file stem, title (with a space), id, id in another case, title; one unknown, one ambiguous.
# "onions" in the garden video: the onions are said at 10-14 s in the KITCHEN video, so a search
# that is not restricted to the query's video would score 1 here instead of 0.


def test_eval_end_to_end_by_hand(tmp_path: Path) -> None:
    f = tmp_path / "sta.txt"
    f.write_text(QUERIES)
    with _library(tmp_path / "s.duckdb") as store:
        assert search(store, "onions")[0].video_id == "vid-a"  # the trap is real
        report = evaluate(store, f)
    assert (report.queries, report.evaluated, report.videos) == (7, 5, 2)
    assert report.unknown == {"mystery": 1} and report.ambiguous == {"Untitled": 1}
    assert "keyword" in report.modes
    assert set(report.modes) | set(report.skipped) == set(MODES)
    assert all(report.skipped.values())  # every skipped mode says why
    kw = report.modes["keyword"]
    # Top IoU per query: 1 (speech), 1 (screen text), 0.8 (event 50-58 vs 48-58), 1, 0.
    assert (kw.queries, kw.r1_iou_05, kw.r1_iou_07, kw.recall_at_5) == (5, 0.8, 0.8, 0.8)
    assert kw.mean_iou == pytest.approx(3.8 / 5)
    # Baseline: 10-14 s appears twice, so it is the typical window; it is right twice.
    assert report.baseline_window == (10.0, 14.0)
    assert report.baseline is not None
    assert (report.baseline.r1_iou_05, report.baseline.mean_iou) == (0.4, pytest.approx(0.4))
    kinds = {r.query: r.hit_kinds[:1] for r in report.results if r.mode == "keyword"}
    assert kinds["chopping onion"] == ("speech",) and kinds["bake"] == ("screen_text",)
    assert kinds["onions"] == ()


def test_eval_reads_qvhighlights_with_several_true_windows(tmp_path: Path) -> None:
    f = tmp_path / "qv.jsonl"
    rows = [
        {"query": "the dog digging", "vid": "vid-b", "relevant_windows": [[0, 4], [20, 30]]},
        {"query": "forty minutes", "vid": "kitchen", "relevant_windows": [[29, 36]]},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows))
    with _library(tmp_path / "s.duckdb") as store:
        report = evaluate(store, f, mode="keyword")
    kw = report.modes["keyword"]
    assert report.skipped == {} and list(report.modes) == ["keyword"]
    # 1.0 against the second window; 5/7 for 30-35 inside 29-36.
    assert kw.mean_iou == pytest.approx((1 + 5 / 7) / 2) and kw.r1_iou_07 == 1.0


def test_eval_errors_are_plain(tmp_path: Path) -> None:
    f = tmp_path / "sta.txt"
    f.write_text("nobody 0 1##x\nnothing 1 2##y\n")
    with _library(tmp_path / "s.duckdb") as store:
        with pytest.raises(DatasetError, match="none of the videos named"):
            evaluate(store, f)
        with pytest.raises(ConfigError, match="unknown search mode"):
            evaluate(store, f, mode="fuzzy")


def test_cli_eval_prints_a_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, f = tmp_path / "s.duckdb", tmp_path / "sta.txt"
    f.write_text(QUERIES)
    _library(db).close()
    monkeypatch.setenv("VIDEOIDX_DB", str(db))
    assert main(["eval", str(f)]) == 0
    out = capsys.readouterr().out
    assert "7 queries, 5 on 2 videos in the library" in out
    assert "left out, video not in the library: mystery (1)" in out
    assert "keyword      0.800   0.800   0.760   0.800" in out
    assert "baseline     0.400   0.400   0.400   0.400  (always 0:10-0:14)" in out
    assert main(["eval", str(f), "--json", "--per-query"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["modes"]["keyword"]["r1_iou_0.5"] == 0.8
    assert data["unknown_videos"] == {"mystery": 1}
    assert len([q for q in data["per_query"] if q["mode"] == "keyword"]) == 5
    bad = tmp_path / "bad.txt"
    bad.write_text("kitchen 1 x##q\n")
    assert main(["eval", str(bad)]) == 2
    assert f"{bad} line 1" in capsys.readouterr().err


def test_search_refuses_modes_it_cannot_run(tmp_path: Path) -> None:
    with _library(tmp_path / "s.duckdb") as store:
        assert search(store, "cat", mode="keyword") == search(store, "cat")
        with pytest.raises(ConfigError, match="unknown search mode"):
            search(store, "cat", mode="vector")
