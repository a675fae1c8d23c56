"""``videoidx index`` prints each video's notes (what it could not read, without failing), once
per video: the notes were only logged before, so a newcomer never saw why a video had no speech."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexers.text.tesseract import TesseractReader
from videoidx.cli import main
from videoidx.media.synth import Segment, make_video

SPEECH_NOTE = "note: speech: the video has no audio stream, so nothing was transcribed"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VIDEOIDX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)


def test_each_video_prints_its_notes_once(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    silent = [
        make_video(tmp_path / f"{colour}.mp4", [Segment(colour, 3.0)], audio=False)
        for colour in ("red", "blue")
    ]
    voiced = make_video(tmp_path / "tone.mp4", [Segment("green", 3.0, tone_hz=440)])
    # An OCR engine that is not on this machine: the run goes on and says why, per video.
    monkeypatch.setenv("VIDEOIDX_OCR_ENGINE", "tesseract")
    db = tmp_path / "lib.duckdb"
    code = main(["index", *map(str, [*silent, voiced]), "--db", str(db), "--workers", "1"])
    assert code == 0
    out = capsys.readouterr().out
    blocks = _blocks(out)
    assert set(blocks) == {"red", "blue", "tone"}, out
    for name in ("red", "blue"):
        assert blocks[name].count(SPEECH_NOTE) == 1, blocks[name]
    assert SPEECH_NOTE not in blocks["tone"]  # it has sound: nothing to say about speech
    if TesseractReader.unavailable_reason():
        for name, lines in blocks.items():
            ocr = [line for line in lines if line.startswith("note: on-screen text is not read")]
            assert len(ocr) == 1 and "tesseract" in ocr[0], (name, lines)


def _blocks(out: str) -> dict[str, list[str]]:
    """Each video's result line (by title) and the indented lines under it."""
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if line.startswith("  ") and current is not None:
            current.append(line.strip())
        elif ": " in line and "video_id" in line:
            current = blocks.setdefault(line.split(":", 1)[0], [])
    return blocks
