"""What a clip says and shows: its speech (a transcriber) and its on-screen text (a text reader).

A :class:`ClipSenses` is opened once per batch (:func:`open_senses`) from the settings: the
configured :class:`~indexers.transcribers.Transcriber` and :class:`~indexers.text.TextReader`,
each None when it is switched off or cannot run here. An engine that cannot run is not an
error: the batch says so once, plainly (:attr:`ClipSenses.notes`), and indexes without it.

Per clip, :meth:`ClipSenses.sense` (called by ``steps.analyse_clip`` before the indexer, so the
indexer sees both) transcribes the clip's audio span and reads the clip's text frames (larger
than the model's and not deduplicated: ``ClipInput.text_frames``, decoded at the reader's
:attr:`ClipSenses.text_long_side_px`; the model's frames when a caller gave none). Both run on
the batch's call threads, under its concurrency limit; an engine that computes on this machine
(local Whisper, OCR) is CPU-bound, so it runs one clip at a time (a lock per engine): four calls
at once on two cores would only slow every clip down and multiply the memory.

**Caching**: :meth:`ClipSenses.cache_identity` is folded into the clip's cache key, so a re-run
transcribes and reads nothing again, and a new model (or language, or OCR engine) re-does the
clips. The trade-off, chosen for simplicity: the clip's indexer request is cached under the same
key, so changing the transcriber also sends the clip to the indexer again (with a vision model,
that is paid for). Since the indexer sees the transcript, its answer may change too.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from indexers import Transcriber, open_transcriber
from indexers.text import TextReader, open_text_reader, text_reader_status
from videoidx.pipeline import heap
from videoidx.pipeline.pauses import split_at_pauses
from videoidx.settings import Settings
from videoidx.types import ClipInput, ScreenText, VideoInfo

log = logging.getLogger(__name__)


@dataclass
class ClipSenses:
    """The batch's transcriber and text reader (either may be None), and what to say once."""

    transcriber: Transcriber | None = None
    reader: TextReader | None = None
    notes: list[str] = field(default_factory=list)
    """Plain sentences for the run: why speech or on-screen text is not read."""
    _speech_lock: threading.Lock = field(default_factory=threading.Lock)
    _text_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def text_long_side_px(self) -> int:
        """The size of the frames the media work should decode for the reader (0: none)."""
        return self.reader.frame_long_side_px if self.reader is not None else 0

    @property
    def wants_audio(self) -> bool:
        """Whether the media work should hand over each clip's audio."""
        return self.transcriber is not None

    def video_notes(self, info: VideoInfo) -> list[str]:
        """What to say about one video's senses: speech is wanted but it has no sound."""
        if self.transcriber is not None and not info.has_audio:
            return ["speech: the video has no audio stream, so nothing was transcribed"]
        return []

    def cache_identity(self) -> str:
        """What the clip cache key adds for speech and text ("" when both are off, so turning
        them off keeps a cache built without them)."""
        parts = []
        if self.transcriber is not None:
            parts.append(f"speech={self.transcriber.cache_identity()}")
        if self.reader is not None:
            parts.append(f"text={self.reader.cache_identity()}")
        return "|".join(parts)

    def sense(
        self,
        clip_input: ClipInput,
        audio: np.ndarray | None,
        cancel: threading.Event | None = None,
    ) -> ClipInput:
        """``clip_input`` with the clip's speech (from ``audio``, 16 kHz mono samples starting
        at the clip's start) and on-screen text filled in."""
        out = clip_input
        if self.transcriber is not None and audio is not None and len(audio):
            with self._serial(self.transcriber.needs_network, self._speech_lock):
                transcript = self.transcriber.transcribe(
                    audio, clip_input.clip.start_s, cancel=cancel
                )
            # Cut at long pauses: VAD can hand back sentences said far apart as one segment.
            out = replace(out, speech=tuple(split_at_pauses(transcript.segments)))
        spans: list[ScreenText] = []
        if self.reader is not None:
            with self._serial(self.reader.needs_network, self._text_lock):
                spans = self.reader.read_clip(clip_input, cancel=cancel)
        # Set even when text is off: the run has said why once, the indexer need not read it.
        # The text frames are dropped: read now, and no indexer should get (or ship) them.
        return replace(out, screen_text=tuple(spans), text_frames=())

    @staticmethod
    @contextlib.contextmanager
    def _serial(remote: bool, lock: threading.Lock) -> Iterator[None]:
        """One clip at a time for an engine that computes here; a remote one runs freely. A
        local engine's freed buffers go back to the system after each clip (``heap``)."""
        if remote:
            yield
            return
        with lock:
            try:
                yield
            finally:
                heap.give_back()

    def close(self) -> None:
        if self.transcriber is not None:
            self.transcriber.close()
        if self.reader is not None:
            self.reader.close()


def open_senses(settings: Settings) -> ClipSenses:
    """The batch's speech and text engines, ready; an unavailable one is None with its note.

    Configuration mistakes (an unknown engine name, a missing key) raise, as the indexer's do.
    """
    notes: list[str] = []
    transcriber, why = open_transcriber(settings)
    if why:
        notes.append(f"speech is not transcribed: {why}")
    status = text_reader_status(settings)
    if status.warning:
        notes.append(status.warning)
    reader = open_text_reader(settings) if status.on else None
    for note in notes:
        log.warning("%s", note)
    return ClipSenses(transcriber, reader, notes)
