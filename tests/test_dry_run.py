"""What a dry run says: which indexer the run would use and what it costs, before any price.

A dry run with the offline indexer (free) used to print GLM prices as if they were the run's
cost; the providers' prices now read "if you used ...", and the counts and times read as
everywhere else ("1 clip", ``m:ss``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from videoidx.catalog import offline_indexer, provider_choices


def _dry_run(
    capsys: pytest.CaptureFixture[str], video: Path, db: Path, *flags: str
) -> tuple[int, str]:
    from videoidx.cli import main

    code = main(["index", "--dry-run", "--db", str(db), *flags, str(video)])
    return code, capsys.readouterr().out


def test_an_offline_run_says_it_is_free_and_prices_providers_only_as_alternatives(
    colour_video: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VIDEOIDX_CONFIG", "/dev/null")
    free = offline_indexer()
    code, out = _dry_run(capsys, colour_video, tmp_path / "dry.duckdb", "--indexer", free)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("this run would use the ") and f"({free}): free" in lines[0]
    # The 12 s colour video is one clip at the default clip length: "1 clip", on the m:ss clock.
    assert lines[1].startswith(f"{colour_video.stem}: 0:12, 1 clip, ")
    assert "1 clips" not in out and "12.0 s" not in out
    assert "total for this run: $0" in out
    # Every provider price sits under an "if you used ..." heading, none under "this run".
    assert "  this run:" not in lines
    priced = [line for line in lines if "$" in line and line.startswith("    ")]
    assert priced, out
    for line in priced:
        heading = next(h for h in reversed(lines[: lines.index(line)]) if not h.startswith("    "))
        assert heading.strip().startswith("if you used "), (heading, line)

    plan = _dry_run_json(capsys, colour_video, tmp_path, "--indexer", free)[0]
    assert plan["indexer"] == free and plan["free"] is True
    assert plan["estimates"] and not any(e["this_run"] for e in plan["estimates"])


def _dry_run_json(
    capsys: pytest.CaptureFixture[str], video: Path, tmp_path: Path, *flags: str
) -> list[dict[str, Any]]:
    code, out = _dry_run(capsys, video, tmp_path / "dry.duckdb", "--json", *flags)
    assert code == 0
    plans: list[dict[str, Any]] = json.loads(out)
    return plans


def test_a_paid_run_names_its_provider_and_the_others_as_alternatives(
    colour_video: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VIDEOIDX_CONFIG", "/dev/null")
    paid = [p for p in provider_choices() if p.estimated_by_default]
    assert len(paid) >= 2
    chosen = paid[-1]
    flags = ("--indexer", chosen.indexer, "--provider", chosen.name)
    code, out = _dry_run(capsys, colour_video, tmp_path / "dry.duckdb", *flags)
    assert code == 0
    assert out.splitlines()[0].endswith(
        f'({chosen.indexer}) via {chosen.name}: priced under "this run" '
        "(estimates; real runs snap clips to shot cuts)"
    )
    block = out.split("  this run:\n", 1)[1].split("\n  if you used", 1)[0]
    assert block.strip().startswith(chosen.name), out
    plan = _dry_run_json(capsys, colour_video, tmp_path, *flags)[0]
    assert plan["free"] is False
    assert [e["provider"] for e in plan["estimates"] if e["this_run"]] == [chosen.name]


def test_the_clip_count_a_dry_run_states_holds_when_the_run_snaps_to_a_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 60 s planned without cuts is 3 clips (0-25, 25-50, 50-60). The colour change at 31 s is a
    # cut the run snaps to, leaving 29 s for one clip: the run makes 2. The dry run once said
    # "3 clips" and nothing else; now it says what the run may make.
    import os

    from videoidx.media.synth import Segment, make_video
    from videoidx.pipeline.run import index_video
    from videoidx.settings import resolve_settings

    monkeypatch.setenv("VIDEOIDX_CONFIG", "/dev/null")
    video = make_video(
        tmp_path / "cut_at_31s.mp4",
        [Segment("navy", 31.0), Segment("yellow", 29.0)],
        width_px=64,
        height_px=48,
        fps=5,
        audio=False,
    )
    free = offline_indexer()
    code, out = _dry_run(capsys, video, tmp_path / "dry.duckdb", "--indexer", free)
    assert code == 0
    assert f"{video.stem}: 1:00, 3 clips (2 to 3 once snapped to shot cuts), " in out, out
    plan = _dry_run_json(capsys, video, tmp_path, "--indexer", free)[0]
    assert (plan["clips_fewest"], plan["clips_most"]) == (2, 3)

    settings = resolve_settings(
        {"db_path": str(tmp_path / "run.duckdb"), "indexer": free}, env={}, config_path=os.devnull
    )
    result = index_video(video, settings=settings)
    assert result.status == "done", result
    assert result.clips_total == 2  # the real run: fewer than planned, within the stated range
    assert plan["clips_fewest"] <= result.clips_total <= plan["clips_most"]
