"""Media work for a batch, as a stream of messages that can cross a process or Ray boundary.

:func:`scan_messages` probes one video and samples its clips (one decode pass, ``media.scan``),
yielding plain picklable messages: :class:`Probed`, then one :class:`ClipReady` per clip (frames
are JPEG bytes, cheap to ship; with ``with_audio``, also the clip's 16 kHz audio, sliced from one
streamed decode of the video's sound, ``pipeline.clip_audio``), then :class:`MediaEnded`; or
only :class:`ProbeFailed` when the file cannot be read. It touches no store and calls no model,
so the same generator runs in the writer's own thread, in a worker process
(:func:`process_worker`) or in a Ray task.

This module imports only the media layer, so a spawned worker process starts quickly.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

import numpy as np

from videoidx.errors import DamagedFramesError, MediaError, VideoIdxError
from videoidx.media.ffmpeg_bin import ffmpeg_exe
from videoidx.media.probe import probe
from videoidx.media.scan import Scan
from videoidx.pipeline import heap
from videoidx.pipeline.clip_audio import ClipAudio
from videoidx.pipeline.lifeline import die_with_parent
from videoidx.settings import MediaSettings
from videoidx.types import ClipPictures, ClipSpec, Frame, ShotCut, VideoInfo


@dataclass(frozen=True)
class Probed:
    """Video ``job`` (its index in the batch) was probed."""

    job: int
    info: VideoInfo


@dataclass(frozen=True)
class ClipReady:
    """One sampled clip of video ``job``, with the shot cuts inside it."""

    job: int
    clip: ClipSpec
    frames: tuple[Frame, ...]
    shot_cuts: tuple[ShotCut, ...]
    audio: np.ndarray | None = field(default=None, compare=False)
    """The clip's sound (16 kHz mono float32 from its start), when asked for and present."""
    text_frames: tuple[Frame, ...] = ()
    """The text reader's frames, when ``media.text_long_side_px`` asks for them."""
    cuts_before: int = 0
    """The video's cuts before the clip's start (see :attr:`ClipInput.cuts_before`)."""
    pictures: ClipPictures | None = field(default=None, compare=False)
    """The clip's small pictures, when ``media.picture_fps`` asks for them."""


@dataclass(frozen=True)
class MediaEnded:
    """Sampling of video ``job`` is over; ``error`` says why it stopped early, or is empty."""

    job: int
    cuts: tuple[ShotCut, ...]
    clips_planned: int
    error: str = ""
    audio_error: str = ""
    """Why some or all of the audio could not be read (the pictures were read as usual)."""


@dataclass(frozen=True)
class ProbeFailed:
    """Video ``job`` cannot be read at all (missing, empty, corrupt, not a video)."""

    job: int
    error: str


MediaMessage = Probed | ClipReady | MediaEnded | ProbeFailed


def unexpected(exc: BaseException) -> str:
    """How an error that is not a VideoIdxError (a bug, a library surprise) is reported."""
    return f"unexpected {type(exc).__name__}: {exc}"


def damaged_media(exc: MediaError) -> str:
    """Why a file was only partly read: spans that cannot be decoded, or a break part-way."""
    if isinstance(exc, DamagedFramesError):
        # Everything else was read (at its own times): the message names the lost spans.
        return f"some frames could not be decoded: {exc}"
    return f"reading frames stopped at a damaged part: {exc}"


def lost_video(job: int, probed: bool, why: str) -> MediaEnded | ProbeFailed:
    """The last message of a video whose media work vanished (its worker died)."""
    return MediaEnded(job, (), 0, why) if probed else ProbeFailed(job, why)


def scan_messages(
    job: int,
    path: str,
    media: MediaSettings,
    should_stop: Callable[[], bool] = lambda: False,
    *,
    raise_probe_errors: bool = False,
    with_audio: bool = False,
) -> Iterator[MediaMessage]:
    """Probe ``path`` and yield its clips as messages; never raises for a bad file, unless
    ``raise_probe_errors`` asks for the probe's own error (one video, read in this process).
    ``with_audio`` adds each clip's audio (for speech)."""
    # In whichever process reads (the run's, a worker's, a Ray worker's): the decode's 16 MB
    # chunks must go back to the system when freed.
    heap.limit()
    try:
        info = probe(path, ffmpeg_path=ffmpeg_exe(media))
    except VideoIdxError as exc:
        if raise_probe_errors:
            raise
        yield ProbeFailed(job, str(exc))
        return
    except Exception as exc:  # one unreadable file must not stop the batch
        if raise_probe_errors:
            raise
        yield ProbeFailed(job, unexpected(exc))
        return
    yield Probed(job, info)
    scan = Scan(info, media)
    sound = ClipAudio(info, ffmpeg_exe(media)) if with_audio and info.has_audio else None
    error = ""
    try:
        for clip, frames in scan:
            if should_stop():
                break
            audio = sound.take(clip.start_s, clip.end_s) if sound is not None else None
            before = sum(1 for c in scan.cuts if c.time_s < clip.start_s)
            yield ClipReady(
                job,
                clip,
                tuple(frames),
                scan.cuts_in(clip),
                audio,
                text_frames=scan.text_frames_of(clip),
                cuts_before=before,
                pictures=scan.pictures_of(clip),
            )
        else:
            if sound is not None:
                sound.finish()
    except MediaError as exc:
        error = damaged_media(exc)
    except Exception as exc:
        error = unexpected(exc)
    finally:
        if sound is not None:
            sound.close()
    audio_error = sound.error if sound is not None else ""
    yield MediaEnded(job, tuple(scan.cuts), len(scan.clips), error, audio_error)


@dataclass(frozen=True)
class Started:
    """Worker process ``worker`` took video ``job`` (so its death can be blamed on the job)."""

    worker: int
    job: int


def process_worker(
    worker: int,
    jobs: multiprocessing.Queue[Any],
    out: multiprocessing.Queue[Any],
    stop: ProcessEvent,
    media: MediaSettings,
    with_audio: bool = False,
) -> None:
    """A worker process: take ``(job, path)`` from ``jobs`` until None, put messages on ``out``.

    ``out`` is bounded, so a worker waits while the writer is behind: frames never pile up.
    """
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        die_with_parent(parent.pid)  # a SIGKILLed parent must not leave us running
    # Ctrl-C reaches the whole process group; the parent decides, and stops us with ``stop``.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def orphaned() -> bool:
        return parent is not None and not parent.is_alive()  # the parent was killed

    def put(message: object) -> bool:
        while not stop.is_set() and not orphaned():
            try:
                out.put(message, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def work() -> bool:
        """Run jobs until told to stop; True when all were taken (nothing left to do)."""
        while not stop.is_set() and not orphaned():
            try:
                task = jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            if task is None:
                return True
            job, path = task
            if not put(Started(worker, job)):
                return False
            for message in scan_messages(job, path, media, stop.is_set, with_audio=with_audio):
                if not put(message):
                    return False
        return False

    if not work():
        # Stopped or orphaned: nobody will read the clips still buffered, so exiting must not
        # wait for the queue's feeder thread to write them (on a full pipe it waits for ever).
        out.cancel_join_thread()
