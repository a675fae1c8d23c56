"""A video's sound as 16 kHz mono samples on the video's own clock, streamed in bounded pieces.

:class:`AudioDecoder` runs ffmpeg once per video: it decodes the chosen audio stream (the first
with the default disposition, else the first), downmixes it to mono and resamples it to 16 kHz
float32 (what speech models take), and hands it over through a pipe in chunks of at most
``chunk_s`` seconds, so a 3-hour file never sits in memory (one chunk of 30 s is 1.9 MB).

**Times.** Every chunk carries the absolute time of its first sample, on the same clock as the
pictures: t = 0 is the first displayed frame of the chosen video stream (``media.index``:
``times_s`` are the frame times on ffmpeg's output timeline minus the first frame's). ffmpeg's
output timeline has the container's start time subtracted, but a raw PCM pipe carries no
timestamps: an audio stream that starts 2 s after the pictures would come out with its first
sample at "0". So the filter ``aresample=async=1:first_pts=0`` pads (or trims) the audio to start
exactly at output time 0 and fills gaps inside it with silence (so a dropped packet does not
shift everything after it); the input is first seeked (``-ss``) to the first frame plus
``start_s``, which drops what lies before: sample k of the pipe is at absolute
``start_s + k / 16000``.

**No audio stream**: nothing is yielded and nothing is raised. **Damaged audio**: ffmpeg's
decoder errors are counted; when it cannot decode the stream at all, or reports errors, an
:class:`~videoidx.errors.AudioDecodeError` is raised after the chunks that were read (like
:class:`~videoidx.errors.DamagedFramesError` for pictures): the caller keeps what it got, notes
the reason, and indexes the pictures as usual.

Also here, because every speech engine needs them: :func:`wav_bytes` (WAV for upload, with the
stdlib ``wave`` module) and :func:`quiet_cuts` (where to cut a span into pieces no longer than a
service's limit, at the quietest moments).
"""

from __future__ import annotations

import functools
import io
import re
import subprocess
import threading
import wave
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from videoidx.errors import AudioDecodeError, FFmpegError
from videoidx.media.ffmpeg_bin import ffmpeg_exe, stderr_tail
from videoidx.media.index import build_frame_index
from videoidx.media.probe import run_ffmpeg_info
from videoidx.types import VideoInfo

SAMPLE_RATE_HZ = 16_000
"""What speech models take (Whisper, SenseVoice, GLM-ASR)."""
CHUNK_S = 30.0
"""Default most seconds per chunk: 1.9 MB of float32."""
STDERR_LINES = 20
"""ffmpeg error lines kept for the message; the rest are only counted (bounded memory)."""

_AUDIO_LINE = re.compile(r"Stream #\d+:(\d+)[^:]*: Audio: ")


@dataclass(frozen=True)
class AudioChunk:
    """Consecutive 16 kHz mono float32 samples; ``samples[0]`` plays at ``start_s``."""

    start_s: float
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE_HZ

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def audio_stream_index(path: str | Path, ffmpeg_path: str | None = None) -> int | None:
    """Container index of the audio stream to read (the first with the default disposition,
    else the first), or None when the file has no audio stream."""
    p = Path(path)
    st = p.stat()
    return _audio_stream(str(p), ffmpeg_exe(ffmpeg_path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _audio_stream(path: str, exe: str, size: int, mtime_ns: int) -> int | None:
    return parse_audio_streams(run_ffmpeg_info(Path(path), exe))


def parse_audio_streams(text: str) -> int | None:
    """The audio stream ``ffmpeg -i`` output names first with ``(default)``, else first."""
    streams = [(m.group(1), line) for line in text.splitlines() if (m := _AUDIO_LINE.search(line))]
    if not streams:
        return None
    defaults = [s for s in streams if "(default)" in s[1]]
    return int((defaults or streams)[0][0])


def first_frame_pts_s(info: VideoInfo, ffmpeg_path: str | None = None) -> float:
    """Where the first displayed frame sits on ffmpeg's output timeline (absolute t = 0)."""
    index = build_frame_index(info.path, info.video_stream, ffmpeg_path)
    return float(index.pts_s[0]) if len(index.pts_s) else 0.0


class AudioDecoder:
    """Iterate over the audio of ``info`` from ``start_s`` to ``end_s`` (absolute seconds) as
    :class:`AudioChunk` of at most ``chunk_s`` seconds. One ffmpeg process per iteration;
    leaving the loop early stops it. After the loop, ``decoded_s`` is how much was read and
    ``decode_errors`` how many errors ffmpeg reported."""

    def __init__(
        self,
        info: VideoInfo,
        *,
        start_s: float = 0.0,
        end_s: float | None = None,
        chunk_s: float = CHUNK_S,
        ffmpeg_path: str | None = None,
    ) -> None:
        if chunk_s <= 0:
            raise ValueError("chunk_s must be > 0")
        self.info = info
        self.start_s = max(0.0, start_s)
        self.end_s = end_s
        self.chunk_samples = max(1, round(chunk_s * SAMPLE_RATE_HZ))
        self.ffmpeg_path = ffmpeg_path
        self.decoded_s = 0.0
        self.decode_errors = 0
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)

    def command(self, stream: int, first_frame_s: float) -> list[str]:
        """The ffmpeg command line (without the program) for ``stream``.

        ``start_s`` > 0 seeks the input (``-ss`` before ``-i`` counts on the same timeline as
        the first frame's time, and is sample-exact for audio), so resuming late in a long
        file does not decode everything before; the padding then starts at the seek point.
        """
        seek_s = first_frame_s + self.start_s
        seek = ["-ss", f"{seek_s:.6f}"] if seek_s > 0 else []
        trim = "atrim=start_sample=0"
        if self.end_s is not None:
            trim += f":end_sample={max(0, round((self.end_s - self.start_s) * SAMPLE_RATE_HZ))}"
        graph = f"aresample={SAMPLE_RATE_HZ}:async=1:first_pts=0,{trim},asetpts=PTS-STARTPTS"
        return [
            "-hide_banner",
            "-nostdin",
            "-nostats",
            "-loglevel",
            "error",
            *seek,
            "-i",
            self.info.path,
            "-map",
            f"0:{stream}",
            "-vn",
            "-sn",
            "-dn",
            "-af",
            graph,
            "-ac",
            "1",
            "-c:a",
            "pcm_f32le",
            "-f",
            "f32le",
            "-",
        ]

    def __iter__(self) -> Iterator[AudioChunk]:
        if not self.info.has_audio:
            return
        stream = audio_stream_index(self.info.path, self.ffmpeg_path)
        if stream is None:
            return
        if self.end_s is not None and self.end_s <= self.start_s:
            return
        cmd = [
            ffmpeg_exe(self.ffmpeg_path),
            *self.command(stream, first_frame_pts_s(self.info, self.ffmpeg_path)),
        ]
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise FFmpegError(
                f"decoding the audio of {self.info.path}: cannot start ffmpeg ({exc})"
            ) from exc
        assert proc.stdout is not None and proc.stderr is not None
        errors = threading.Thread(
            target=self._read_stderr, args=(proc.stderr,), name="videoidx-audio-stderr", daemon=True
        )
        errors.start()
        read = 0
        try:
            while True:
                samples = _read_samples(proc.stdout, self.chunk_samples)
                if samples is None:
                    break
                chunk = AudioChunk(self.start_s + read / SAMPLE_RATE_HZ, samples)
                read += len(samples)
                self.decoded_s = read / SAMPLE_RATE_HZ
                yield chunk
            returncode = proc.wait()
            errors.join()
        finally:
            if proc.poll() is None:  # the caller left the loop early (or failed): stop ffmpeg
                proc.kill()
                proc.wait()
            proc.stdout.close()
            errors.join(timeout=5)
        if returncode != 0 or self.decode_errors:
            self._raise_damaged(returncode)

    def _read_stderr(self, pipe: IO[bytes]) -> None:
        for raw in pipe:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.decode_errors += 1
                self._stderr.append(line)
        pipe.close()

    def _raise_damaged(self, returncode: int) -> None:
        tail = stderr_tail("\n".join(self._stderr), 3) or f"ffmpeg exited with {returncode}"
        name = Path(self.info.path).name
        if self.decoded_s == 0:
            raise AudioDecodeError(
                f"the audio of {name} cannot be decoded ({tail}); the pictures are indexed "
                "without speech. Re-export the file's audio track to get its speech.",
                decoded_s=0.0,
            )
        raise AudioDecodeError(
            f"the audio of {name} is damaged: ffmpeg reported {self.decode_errors} decoding "
            f"error{'s' if self.decode_errors != 1 else ''} ({tail}); the damaged parts are "
            f"silent and the other {self.decoded_s:.1f} s were read, so speech there may be "
            "missing. Re-export the file's audio track to get all of it.",
            decoded_s=self.decoded_s,
        )


def iter_audio(
    info: VideoInfo,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    chunk_s: float = CHUNK_S,
    ffmpeg_path: str | None = None,
) -> Iterator[AudioChunk]:
    """The audio of ``info`` as chunks; see :class:`AudioDecoder`."""
    return iter(
        AudioDecoder(info, start_s=start_s, end_s=end_s, chunk_s=chunk_s, ffmpeg_path=ffmpeg_path)
    )


def _read_samples(pipe: IO[bytes], count: int) -> np.ndarray | None:
    """Up to ``count`` float32 samples from ``pipe`` (fewer only at its end); None at the end."""
    buf = bytearray(count * 4)
    view = memoryview(buf)
    filled = 0
    while filled < len(buf):
        n = pipe.readinto(view[filled:])  # type: ignore[attr-defined]  # a BufferedReader
        if not n:
            break
        filled += n
    filled -= filled % 4
    if filled == 0:
        return None
    return np.frombuffer(buf, dtype=np.float32, count=filled // 4)


def wav_bytes(samples: np.ndarray, rate_hz: int = SAMPLE_RATE_HZ) -> bytes:
    """``samples`` (float, -1..1) as a 16-bit mono PCM WAV file, for upload to a service."""
    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


def wav_size_bytes(seconds: float, rate_hz: int = SAMPLE_RATE_HZ) -> int:
    """Size of :func:`wav_bytes` for ``seconds`` of audio (44-byte header, 2 bytes a sample)."""
    return 44 + 2 * round(seconds * rate_hz)


QUIET_WINDOW_S = 0.1


def quiet_cuts(
    samples: np.ndarray, max_s: float, *, rate_hz: int = SAMPLE_RATE_HZ, search_s: float = 0.5
) -> list[int]:
    """Sample positions that cut ``samples`` into pieces of at most ``max_s`` seconds, each cut at
    the quietest ``QUIET_WINDOW_S`` window in the last ``search_s`` share of its piece (so a cut
    falls between words where there is a pause), else at the limit. The positions exclude 0 and
    ``len(samples)``; an empty list means one piece is short enough."""
    limit = int(max_s * rate_hz)
    if limit <= 0:
        raise ValueError("max_s must be > 0")
    window = max(1, round(QUIET_WINDOW_S * rate_hz))
    cuts: list[int] = []
    start = 0
    n = len(samples)
    while n - start > limit:
        lo = start + int(limit * (1 - search_s))
        hi = start + limit
        region = np.asarray(samples[lo:hi], dtype=np.float32)
        usable = (len(region) // window) * window
        if usable >= window:
            power = (region[:usable].reshape(-1, window) ** 2).mean(axis=1)
            # Ties (digital silence) go to the latest window: longer pieces, fewer requests.
            best = len(power) - 1 - int(np.argmin(power[::-1]))
            cut = lo + best * window + window // 2
        else:
            cut = hi
        cut = min(max(cut, start + 1), hi)
        cuts.append(cut)
        start = cut
    return cuts
