"""``RemoteTranscriber``: an OpenAI-compatible ``audio/transcriptions`` service, by profile.

The service is ``settings.speech.transcribe_provider`` (:mod:`indexers.transcribers.profiles`);
every request goes through :class:`~indexers.remote.http.RemoteHttp`, so it gets the vision calls'
retries, deadline, cancel, redaction and error mapping, and the key goes only where
:mod:`indexers.remote.trust` allows.

A span is sent in pieces no longer than the service takes (its seconds and bytes limits), cut at
the quietest moment near each limit (:func:`~videoidx.media.audio.quiet_cuts`) so a word is not
split, each encoded as a 16 kHz 16-bit WAV (stdlib ``wave``). Pieces with no sound are not sent
(no cost, no words invented in silence). A service that answers with ``segments`` has its times
moved to absolute ones; a text-only answer (Z.AI ``glm-asr-2512``, SiliconFlow, an upstream of
OpenRouter without segments) becomes one segment timed by its piece, trimmed to where the piece
has sound; text-only pieces are kept to ``TEXT_ONLY_PIECE_S`` so those times stay useful.

Cost: a reply's own ``usage.cost`` when it sends one, else the minutes sent times the profile's
price per minute; :meth:`RemoteTranscriber.estimate_usage` prices a duration for the dry run.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import numpy as np

from indexers.remote.http import RemoteHttp
from indexers.remote.link import ServiceLink, ServiceNames
from indexers.transcribers.base import SAMPLE_RATE_HZ, Transcriber, Transcript
from indexers.transcribers.profiles import (
    PROFILES,
    TranscriptionProfile,
    resolve_transcription_profile,
)
from videoidx.errors import BadReplyError, CancelledError
from videoidx.media.audio import quiet_cuts, wav_bytes
from videoidx.settings import Settings
from videoidx.types import SpeechSegment, Usage, Word

NAMES = ServiceNames(
    profile="transcribe_provider",
    model="transcribe_model",
    base_url="transcribe_base_url",
    base_url_env="VIDEOIDX_TRANSCRIBE_BASE_URL",
    key_env="transcribe_api_key_env (VIDEOIDX_TRANSCRIBE_API_KEY_ENV)",
)
TEXT_ONLY_PIECE_S = 30.0
"""Longest piece sent to a service that gives no times: its text is timed by the piece."""
WINDOW_S = 0.1
SOUND_FLOOR_RMS = 0.003
"""About -50 dBFS: a piece whose every 0.1 s window is quieter holds no speech and is not sent."""
SOUND_SHARE_OF_PEAK = 0.05
"""A window counts as sound (for timing text-only pieces) above this share of the piece's peak."""
BYTES_MARGIN = 0.98


class RemoteTranscriber(Transcriber):
    """Transcribe with the ``audio/transcriptions`` service of ``settings.speech``."""

    name = "remote"
    display_name = "Speech-to-text service"
    needs_network = True

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(settings)
        self.profile: TranscriptionProfile = resolve_transcription_profile(settings.speech)
        p = self.profile
        self.language = settings.speech.transcribe_language or None
        self.gives_times = p.gives_times
        self.word_times = p.word_times
        self.multilingual = p.multilingual
        self.needs_key = p.key_env is not None and p.key_required
        self.priced = p.price_usd_per_min > 0
        self.max_bytes_per_request = p.max_bytes
        self.max_seconds_per_request = self._piece_s()
        builtin = PROFILES.get(settings.speech.transcribe_provider)
        self._link = ServiceLink(
            p,
            NAMES,
            settings.provider,
            builtin_base_url=builtin.base_url if builtin else None,
            transport=transport,
            sleep=sleep,
            env=env,
        )

    def __repr__(self) -> str:
        return f"RemoteTranscriber(provider={self.profile.name!r}, model={self.profile.model!r})"

    @property
    def model_id(self) -> str:
        return self.profile.model

    def cache_identity(self) -> str:
        language = self.language or "auto"
        return f"{self.name}|provider={self.profile.name}|model={self.model_id}|language={language}"

    def _piece_s(self) -> float:
        """Longest piece one request carries: the service's seconds and bytes limits, and
        ``TEXT_ONLY_PIECE_S`` where the text is timed by the piece."""
        p = self.profile
        limits = [p.max_seconds or math.inf]
        if p.max_bytes:
            usable = p.max_bytes * BYTES_MARGIN - 44
            if p.shape == "json_input_audio":
                usable *= 3 / 4  # base64 in the JSON body
            limits.append(usable / (2 * SAMPLE_RATE_HZ))
        if not p.gives_times:
            limits.append(TEXT_ONLY_PIECE_S)
        return min(limits)

    # -- key and connection ------------------------------------------------------------------

    def api_key(self) -> str | None:
        return self._link.api_key()

    def check_ready(self) -> None:
        """MissingKeyError or KeyDestinationError now rather than at the first span."""
        self.api_key()

    def worker_env(self) -> dict[str, str]:
        return self._link.worker_env()

    def _remote(self) -> RemoteHttp:
        return self._link.http()

    def close(self) -> None:
        self._link.close()

    # -- estimates ---------------------------------------------------------------------------

    def estimate_usage(self, duration_s: float) -> Usage:
        """Requests (one per piece) and the per-minute price of ``duration_s`` of audio."""
        if duration_s <= 0:
            return Usage()
        piece_s = self.max_seconds_per_request or math.inf
        return Usage(
            requests=math.ceil(duration_s / piece_s) if math.isfinite(piece_s) else 1,
            cost_usd=duration_s / 60.0 * self.profile.price_usd_per_min,
        )

    # -- work --------------------------------------------------------------------------------

    def transcribe(
        self, samples: np.ndarray, start_s: float, *, cancel: threading.Event | None = None
    ) -> Transcript:
        audio = np.asarray(samples, dtype=np.float32)
        transcript = Transcript(model=self.profile.model)
        piece_s = self.max_seconds_per_request or math.inf
        cuts = quiet_cuts(audio, piece_s) if math.isfinite(piece_s) else []
        bounds = [0, *cuts, len(audio)]
        for a, b in itertools.pairwise(bounds):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"{self.profile.name}: speech transcription was cancelled")
            piece = audio[a:b]
            sound = _sound_bounds(piece)
            if sound is None:
                continue  # silence: nothing to say, nothing to pay
            piece_start = start_s + a / SAMPLE_RATE_HZ
            self._send_piece(piece, piece_start, sound, transcript, cancel)
        return transcript

    def _send_piece(
        self,
        piece: np.ndarray,
        start_s: float,
        sound: tuple[int, int],
        transcript: Transcript,
        cancel: threading.Event | None,
    ) -> None:
        duration_s = len(piece) / SAMPLE_RATE_HZ
        end_s = start_s + duration_s
        what = f"speech {start_s:.1f}-{end_s:.1f} s"
        remote = self._remote()
        url = self.profile.base_url.rstrip("/") + "/audio/transcriptions"
        wav = wav_bytes(piece)

        def build() -> httpx.Request:
            return self._request(remote, url, wav)

        data, _attempts = remote.send(
            build, what=what, cancel=cancel, parse=lambda text: self._read(text, what, remote)
        )
        sound_s = (start_s + sound[0] / SAMPLE_RATE_HZ, start_s + sound[1] / SAMPLE_RATE_HZ)
        segments = reply_segments(data, start_s, end_s, sound_s)
        language = str(data.get("language") or self.language or "")
        transcript.segments += [
            SpeechSegment(s.start_s, s.end_s, s.text, s.words, language, s.confidence)
            for s in segments
        ]
        transcript.language = transcript.language or language
        transcript.model = remote.redact(str(data.get("model") or "")) or transcript.model
        transcript.audio_s += duration_s
        transcript.usage.add(self._usage(data, duration_s))

    def _request(self, remote: RemoteHttp, url: str, wav: bytes) -> httpx.Request:
        p = self.profile
        fields: dict[str, Any] = {"model": p.model}
        if p.response_format:
            fields["response_format"] = p.response_format
        if self.language and p.sends_language:
            fields["language"] = self.language
        if p.shape == "json_input_audio":
            body = dict(fields)
            body["input_audio"] = {"data": base64.b64encode(wav).decode("ascii"), "format": "wav"}
            if p.timestamp_granularities:
                body["timestamp_granularities"] = list(p.timestamp_granularities)
            return remote.request("POST", url, json=body, headers={"Accept": "application/json"})
        if p.timestamp_granularities:
            fields["timestamp_granularities[]"] = list(p.timestamp_granularities)
        return remote.request(
            "POST",
            url,
            data=fields,
            files={"file": ("audio.wav", wav, "audio/wav")},
            headers={"Accept": "application/json"},
        )

    def _read(self, text: str, what: str, remote: RemoteHttp) -> dict[str, Any]:
        """The reply as a JSON object (already redacted); an error inside a 200 becomes its
        error, anything else unreadable a BadReplyError."""
        try:
            data = json.loads(text)
        except ValueError:
            raise BadReplyError(
                f"{self.profile.name}: the answer for {what} is not JSON (starts {text[:80]!r})",
                status=200,
            ) from None
        if not isinstance(data, dict):
            raise BadReplyError(f"{self.profile.name}: the answer for {what} is not an object")
        if "error" in data and "text" not in data:
            raise remote.http_error(200, text, {}, what)
        if not isinstance(data.get("text", ""), str) and not isinstance(data.get("segments"), list):
            raise BadReplyError(f"{self.profile.name}: the answer for {what} has no text")
        return data

    def _usage(self, data: Mapping[str, Any], duration_s: float) -> Usage:
        block = data.get("usage")
        cost = block.get("cost") if isinstance(block, Mapping) else None
        if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
            cost_usd = float(cost)
        else:
            cost_usd = duration_s / 60.0 * self.profile.price_usd_per_min
        return Usage(cost_usd=cost_usd, requests=1)


def _sound_bounds(samples: np.ndarray) -> tuple[int, int] | None:
    """First and last sample of the 0.1 s windows that hold sound, or None for silence."""
    window = round(WINDOW_S * SAMPLE_RATE_HZ)
    n = math.ceil(len(samples) / window)
    if n == 0:
        return None
    padded = np.zeros(n * window, dtype=np.float32)
    padded[: len(samples)] = samples
    rms = np.sqrt((padded.reshape(n, window) ** 2).mean(axis=1))
    peak = float(rms.max())
    if peak < SOUND_FLOOR_RMS:
        return None
    loud = np.nonzero(rms >= max(SOUND_FLOOR_RMS, SOUND_SHARE_OF_PEAK * peak))[0]
    return int(loud[0] * window), int(min((loud[-1] + 1) * window, len(samples)))


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        out = float(value)
    except ValueError:
        return None
    return out if math.isfinite(out) else None


def _words(items: Any, start_s: float, end_s: float) -> list[Word]:
    words: list[Word] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        a, b = _num(item.get("start")), _num(item.get("end"))
        text = str(item.get("word") or item.get("text") or "").strip()
        if a is None or b is None or not text:
            continue
        ws = min(max(start_s + a, start_s), end_s)
        we = min(max(start_s + b, ws), end_s)
        prob = _num(item.get("probability"))
        words.append(Word(round(ws, 3), round(we, 3), text, prob))
    return words


def reply_segments(
    data: Mapping[str, Any], start_s: float, end_s: float, sound_s: tuple[float, float]
) -> list[SpeechSegment]:
    """Segments at absolute times from a ``verbose_json`` reply (times relative to the piece at
    ``start_s``, kept inside it); a reply with text but no segments is one segment over
    ``sound_s``, where the piece has sound."""
    top_words = _words(data.get("words"), start_s, end_s)
    out: list[SpeechSegment] = []
    segments = data.get("segments")
    for seg in segments if isinstance(segments, list) else []:
        if not isinstance(seg, Mapping):
            continue
        text = str(seg.get("text") or "").strip()
        a, b = _num(seg.get("start")), _num(seg.get("end"))
        if not text or a is None or b is None:
            continue
        s0 = min(max(start_s + a, start_s), end_s)
        s1 = min(max(start_s + b, s0), end_s)
        words = _words(seg.get("words"), start_s, end_s) or [
            w for w in top_words if s0 - 0.01 <= w.start_s < s1 + 0.01
        ]
        logprob = _num(seg.get("avg_logprob"))
        confidence = (
            round(min(max(math.exp(logprob), 0.0), 1.0), 3) if logprob is not None else None
        )
        out.append(SpeechSegment(round(s0, 3), round(s1, 3), text, tuple(words), "", confidence))
    if out:
        return out
    text = str(data.get("text") or "").strip()
    if not text:
        return []
    return [SpeechSegment(round(sound_s[0], 3), round(sound_s[1], 3), text, tuple(top_words))]
