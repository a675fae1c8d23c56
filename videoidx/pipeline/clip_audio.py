"""Each clip's audio out of ONE decode of the video's sound, with bounded memory.

:class:`ClipAudio` runs one :class:`~videoidx.media.audio.AudioDecoder` over the whole video
(one ffmpeg process, streamed in short chunks) and hands out the samples of each clip as the
media work reaches it (``media_worker.scan_messages``, which samples clips in time order). It
keeps only the chunks from the current clip's start on, so a 3-hour file holds about one clip
of audio (30 s of 16 kHz float32 is 1.9 MB), never the whole track.

No audio stream: every clip gets None and nothing is raised. Damaged audio: the clips read so
far keep their audio, later ones get None, and :attr:`ClipAudio.error` says why (once, for the
video's result); the pictures are indexed as usual.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from videoidx.errors import VideoIdxError
from videoidx.media.audio import SAMPLE_RATE_HZ, AudioChunk, AudioDecoder
from videoidx.types import VideoInfo

CHUNK_S = 5.0
"""Decode in pieces this long: small next to a clip, few enough to be cheap."""


class ClipAudio:
    """Slice a video's audio clip by clip, in time order (see the module docstring)."""

    def __init__(self, info: VideoInfo, ffmpeg_path: str | None = None) -> None:
        self.info = info
        self.error = ""
        self._decoder = AudioDecoder(info, chunk_s=CHUNK_S, ffmpeg_path=ffmpeg_path)
        self._chunks: Iterator[AudioChunk] | None = None
        self._held: list[AudioChunk] = []
        self._ended = not info.has_audio

    def take(self, start_s: float, end_s: float) -> np.ndarray | None:
        """The samples from ``start_s`` to ``end_s`` (absolute seconds), or None when there is
        no audio there. Calls must not go back before an earlier call's ``start_s``."""
        self._held = [c for c in self._held if c.end_s > start_s]
        while not self._ended and (not self._held or self._held[-1].end_s < end_s):
            chunk = self._next()
            if chunk is not None and chunk.end_s > start_s:
                self._held.append(chunk)
        if not self._held:
            return None
        first_s = self._held[0].start_s
        samples = np.concatenate([c.samples for c in self._held])
        lo = max(0, round((start_s - first_s) * SAMPLE_RATE_HZ))
        hi = max(lo, round((end_s - first_s) * SAMPLE_RATE_HZ))
        piece = samples[lo:hi]
        return piece.copy() if len(piece) else None

    def _next(self) -> AudioChunk | None:
        try:
            if self._chunks is None:
                self._chunks = iter(self._decoder)
            return next(self._chunks)
        except StopIteration:
            self._ended = True
        except VideoIdxError as exc:
            # AudioDecodeError (damaged or undecodable audio) or ffmpeg failing to start.
            self._ended = True
            self.error = f"speech not read from part of the audio: {exc}"
        return None

    def finish(self) -> None:
        """After the last clip: read what is left of the track (little), so an error ffmpeg
        reports at its end is known (:attr:`error`)."""
        self._held = []
        while not self._ended:
            self._next()

    def close(self) -> None:
        """Stop the decoder's ffmpeg (leaving early, or at the end)."""
        self._ended = True
        self._held = []
        if self._chunks is not None:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
            self._chunks = None
