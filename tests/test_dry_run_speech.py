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


def test_embeddings_are_estimated_from_replies_and_speech_and_priced_by_the_embedder(
    videos: tuple[Path, Path], clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from videoidx.pipeline import embed_estimate as est

    voiced, silent = videos
    clean_env.setenv("VIDEOIDX_EMBEDDER", "zai")
    clean_env.setenv("VIDEOIDX_EMBED_PRICE_USD_PER_MTOK", "2.0")
    clean_env.setenv("VIDEOIDX_EMBED_BATCH_SIZE", "16")
    plans: list[dict[str, Any]] = json.loads(_dry(capsys, "--json", str(voiced), str(silent)))
    by_name = {Path(p["path"]).stem: p for p in plans}
    for name, audio_s in (("voiced", 100.0), ("silent", 0.0)):
        emb = by_name[name]["embeddings"]
        clips = len(by_name[name]["clips"])
        # The offline indexer writes no reply: its measured event text per clip, plus the
        # speech of every second of audio (none for the silent file).
        chars = clips * est.OFFLINE_EVENT_CHARS_PER_CLIP + audio_s * est.SPEECH_CHARS_PER_S
        texts = math.ceil(clips * est.OFFLINE_EVENT_CHARS_PER_CLIP / est.EVENT_CHARS) + math.ceil(
            audio_s / est.SPEECH_SEGMENT_S
        )
        assert emb["model"] == "embedding-3" and emb["texts"] == texts, emb
        assert emb["tokens"] == pytest.approx(chars / 4, abs=1)
        assert emb["requests"] == math.ceil(texts / 16)
        assert emb["cost_usd"] == pytest.approx(emb["tokens"] / 1e6 * 2.0)
    assert by_name["voiced"]["embeddings"]["tokens"] > by_name["silent"]["embeddings"]["tokens"]
    out = _dry(capsys, str(voiced))
    cost = by_name["voiced"]["embeddings"]["cost_usd"]
    assert f"total for this run: ${cost:.4f} for embeddings (" in out, out
    clean_env.setenv("VIDEOIDX_EMBEDDER", "none")
    assert "embeddings: off" in _dry(capsys, str(voiced))


def test_a_model_reply_sets_the_event_text_to_embed(
    videos: tuple[Path, Path], clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # With GLM the events are as long as the reply it is expected to write, clip by clip.
    voiced, _ = videos
    clean_env.setenv("VIDEOIDX_EMBEDDER", "zai")
    clean_env.setenv("VIDEOIDX_TRANSCRIBER", "none")
    args = ["index", "--dry-run", "--json", "--indexer", "glm", "--provider", "zai", str(voiced)]
    assert main(args) == 0
    plan = json.loads(capsys.readouterr().out)[0]
    reply = next(e for e in plan["estimates"] if e["this_run"])["completion_tokens"]
    assert reply > 0
    assert plan["embeddings"]["tokens"] == pytest.approx(reply, abs=len(plan["clips"]))
