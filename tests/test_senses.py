"""The batch's speech and text engines: unavailable ones said once, local ones one at a time."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from indexers.transcribers import Transcriber, Transcript
from tests.storefix import video_info
from videoidx.pipeline.senses import ClipSenses, open_senses
from videoidx.settings import resolve_settings
from videoidx.types import ClipInput, ClipSpec, SpeechSegment


class SlowLocal(Transcriber):
    """A local engine that records how many calls overlap."""

    name = "slow-local"

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.active = 0
        self.most = 0
        self.lock = threading.Lock()

    def transcribe(
        self, samples: np.ndarray, start_s: float, *, cancel: threading.Event | None = None
    ) -> Transcript:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.05)
        with self.lock:
            self.active -= 1
        return Transcript([SpeechSegment(start_s, start_s + 1.0, "hello")])


def test_a_local_transcriber_runs_one_clip_at_a_time() -> None:
    settings = resolve_settings({}, env={}, config_path=os.devnull)
    engine = SlowLocal(settings)
    senses = ClipSenses(engine)
    clips = [
        ClipInput(video_info("v"), ClipSpec("v", i, 10.0 * i, 10.0 * i + 10), ()) for i in range(6)
    ]
    audio = np.zeros(16_000, dtype=np.float32)
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda c: senses.sense(c, audio), clips))
    assert engine.most == 1
    assert [d.speech[0].start_s for d in done] == [10.0 * i for i in range(6)]
    assert all(d.screen_text == () for d in done)  # text off: read as nothing, not None
    assert "speech=slow-local|model=slow-local" in senses.cache_identity()


def test_an_unavailable_engine_is_said_once_and_switched_off() -> None:
    settings = resolve_settings(
        {"ocr_engine": "tesseract", "transcriber": "none"}, env={"PATH": "/nonexistent"},
        config_path=os.devnull,
    )  # fmt: skip
    senses = open_senses(settings)
    if senses.reader is None:  # tesseract is not installed here
        assert len(senses.notes) == 1 and "tesseract" in senses.notes[0]
    assert senses.transcriber is None and not senses.wants_audio
    off = open_senses(resolve_settings({"ocr_engine": "off", "transcriber": "none"}, env={},
                                       config_path=os.devnull))  # fmt: skip
    assert off.notes == [] and off.cache_identity() == ""
