"""A dry run prices speech too: minutes of audio, requests of a remote transcriber (Z.AI takes
pieces of at most 30 s, so a 33 s clip is two requests), cost from the profile's price; the
offline default says it is free, and a video without sound has no speech to pay for."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from videoidx.catalog import offline_indexer
from videoidx.cli import main
from videoidx.media.synth import Segment, make_video

PRICE_USD_PER_MIN = 0.006


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("dryspeech")
    voiced = make_video(
        folder / "voiced.mp4",
        [Segment("blue", 50.0, tone_hz=300), Segment("red", 50.0, tone_hz=500)],
        width_px=64,
        height_px=48,
        fps=5,
    )
    silent = make_video(
        folder / "silent.mp4", [Segment("green", 20.0)], width_px=64, height_px=48, audio=False
    )
    return voiced, silent


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("VIDEOIDX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)
    return monkeypatch


def _dry(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["index", "--dry-run", "--indexer", offline_indexer(), *args]) == 0
    return capsys.readouterr().out


def test_the_offline_default_says_speech_is_free(
    videos: tuple[Path, Path], clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    voiced, silent = videos
    out = _dry(capsys, str(voiced), str(silent))
    lines = [line.strip() for line in out.splitlines()]
    assert "speech: faster-whisper (local), tiny.en: 1.7 min of audio on this machine, free" in (
        lines
    ), out
    assert "speech: none (no audio stream)" in lines, out
    assert "total for this run: $0 (" in out
    clean_env.setenv("VIDEOIDX_TRANSCRIBER", "none")
    assert "speech: off (transcriber = none)" in _dry(capsys, str(voiced))


def test_a_remote_transcriber_is_priced_in_pieces_of_30_s(
    videos: tuple[Path, Path], clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    voiced, silent = videos
    clean_env.setenv("VIDEOIDX_TRANSCRIBER", "remote")
    clean_env.setenv("VIDEOIDX_TRANSCRIBE_PROVIDER", "zai")
    clean_env.setenv("VIDEOIDX_TRANSCRIBE_PRICE_USD_PER_MIN", str(PRICE_USD_PER_MIN))
    # No key is needed to price a run (nothing is called).
    plans: list[dict[str, Any]] = json.loads(
        _dry(capsys, "--json", "--clip-seconds", "33", str(voiced), str(silent))
    )
    voiced_plan, silent_plan = plans
    durations = [c["end_s"] - c["start_s"] for c in voiced_plan["clips"]]
    assert max(durations) > 30.0, durations  # so some clip must go in two pieces
    speech = voiced_plan["speech"]
    assert speech["transcriber"] == "remote" and speech["model"] == "glm-asr-2512"
    assert speech["audio_s"] == pytest.approx(100.0, abs=0.5)
    assert speech["requests"] == sum(math.ceil(d / 30.0) for d in durations)
    assert speech["requests"] > len(durations)
    assert speech["cost_usd"] == pytest.approx(100.0 / 60 * PRICE_USD_PER_MIN, rel=0.01)
    assert speech["free"] is False
    assert silent_plan["speech"]["audio_s"] == 0 and silent_plan["speech"]["requests"] == 0
    assert silent_plan["speech"]["free"] is True

    out = _dry(capsys, "--clip-seconds", "33", str(voiced))
    cost = f"${100.0 / 60 * PRICE_USD_PER_MIN:.4f}"
    line = next(x.strip() for x in out.splitlines() if x.strip().startswith("speech:"))
    assert line.endswith(f"{speech['requests']} requests, {cost}"), line
    assert "1.7 min of audio" in line
    # The offline indexer is free, the speech is not: the run's total says so.
    assert f"total for this run: {cost} for speech" in out
