"""The fake provider's ``audio/transcriptions``: each service's request shape, limits and answer.

Written from the services' documentation (``shared/reference/speech-and-search.md``),
independently of the adapter's profile table, so a test catches an adapter that drifts:

* :data:`AUDIO_DIALECTS` says how each service takes audio (multipart ``file`` + ``model``, or
  OpenRouter's JSON ``input_audio {data, format}``), its limits per file (Z.AI: 30 s and 25 MB;
  SiliconFlow: 1 h and 50 MB; vLLM: 25 MB), and whether it answers with times
  (``verbose_json`` segments) or text only;
* :func:`read_request` checks a request as the service would and refuses what it refuses: the
  wrong content type, a missing field, a model it does not serve, a file it cannot read, a piece
  over its limits (413 for size, 400 for length, with Z.AI's business code);
* :func:`hear` is the fake "model": it decodes the WAV it was sent and reports each tone in it
  as ``"tone 440 hertz"`` with the tone's start and end (0.1 s resolution), so a test knows the
  true transcript and times of the audio it made; :func:`answer` shapes that as the service
  answers (Z.AI ``{id, created, request_id, model, text}``, SiliconFlow ``{text}``, OpenAI-style
  ``verbose_json`` with segments and, when asked, words).
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import io
import json
import time
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.fake.dialects import Headers, Reject

MB = 1024 * 1024
WINDOW_S = 0.1
TONE_RMS = 0.01
"""A 0.1 s window louder than this (about -40 dBFS) is part of a tone."""


@dataclass(frozen=True)
class AudioDialect:
    """What one speech-to-text service takes and how it answers."""

    name: str
    model: str
    key: bool
    shape: str
    """``multipart`` or ``json`` (OpenRouter's ``input_audio``)."""
    text_only: bool
    """Answers text without times, whatever is asked."""
    max_s: float | None
    max_bytes: int | None
    zai: bool = False
    """Z.AI's answer and error shapes (business codes)."""


_WHISPER = "openai/whisper-large-v3-turbo"
AUDIO_DIALECTS: dict[str, AudioDialect] = {
    "zai": AudioDialect("zai", "glm-asr-2512", True, "multipart", True, 30.0, 25 * MB, True),
    "zai_cn": AudioDialect("zai_cn", "glm-asr-2512", True, "multipart", True, 30.0, 25 * MB, True),
    "siliconflow": AudioDialect(
        "siliconflow", "FunAudioLLM/SenseVoiceSmall", True, "multipart", True, 3600.0, 50 * MB
    ),
    "openrouter": AudioDialect(
        "openrouter", "openai/whisper-1", True, "json", False, None, 25 * MB
    ),
    "vllm": AudioDialect("vllm", _WHISPER, False, "multipart", False, None, 25 * MB),
    "sglang": AudioDialect("sglang", _WHISPER, False, "multipart", False, None, 25 * MB),
    "openai": AudioDialect("openai", "whisper-1", False, "multipart", False, None, 25 * MB),
}


@dataclass
class AudioRequest:
    """A transcription request as the fake understood it."""

    fields: dict[str, Any]
    """Every form field or JSON member but the audio itself (lists for repeated fields)."""
    wav: bytes
    filename: str
    content_type: str
    duration_s: float
    samples: np.ndarray
    rate_hz: int


def _parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fields, files) of a ``multipart/form-data`` body, with the stdlib ``email`` parser."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.message_from_bytes(head + raw, policy=email.policy.HTTP)
    if not msg.is_multipart():
        raise Reject(400, None, "body is not multipart/form-data")
    fields: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True) or b""
        assert isinstance(data, bytes)
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), data)
        elif name in fields:
            old = fields[name]
            fields[name] = [*old, data.decode()] if isinstance(old, list) else [old, data.decode()]
        else:
            fields[name] = data.decode()
    return fields, files


def _read_wav(data: bytes, code: str | None) -> tuple[np.ndarray, int]:
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != 2:
                raise Reject(400, code, "only 16-bit PCM WAV is understood here")
            rate, channels = w.getframerate(), w.getnchannels()
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32)
    except (wave.Error, EOFError) as exc:
        raise Reject(400, code, f"the audio file cannot be read ({exc})") from None
    samples = pcm.reshape(-1, channels).mean(axis=1) / 32768.0
    return samples, rate


def read_request(
    d: AudioDialect, headers: Headers, raw: bytes, *, model: str, api_key: str
) -> AudioRequest:
    """The request as service ``d`` reads it; :class:`Reject` the way it refuses one."""
    code = "1214" if d.zai else None
    if d.key or (api_key and headers.get("Authorization")):
        auth = headers.get("Authorization")
        if not auth:
            raise Reject(401, "1001" if d.zai else None, "no Authorization header received")
        if auth != f"Bearer {api_key}":
            token = auth.removeprefix("Bearer ")
            raise Reject(401, "1000" if d.zai else None, f"authentication failed: {token}")
    ctype = headers.get("Content-Type") or ""
    if d.shape == "json":
        if not ctype.startswith("application/json"):
            raise Reject(400, None, f"expected a JSON body, got {ctype or 'no content type'}")
        try:
            body = json.loads(raw)
        except ValueError:
            raise Reject(400, None, "body is not JSON") from None
        audio = body.get("input_audio") if isinstance(body, dict) else None
        if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
            raise Reject(400, None, "input_audio.data (base64) is required")
        if audio.get("format") not in ("wav", "mp3", "flac", "m4a", "ogg", "webm"):
            raise Reject(400, None, f"input_audio.format {audio.get('format')!r} not supported")
        try:
            wav = base64.b64decode(audio["data"], validate=True)
        except (binascii.Error, ValueError):
            raise Reject(400, None, "input_audio.data is not base64") from None
        fields = {k: v for k, v in body.items() if k != "input_audio"}
        filename, file_type = f"audio.{audio['format']}", f"audio/{audio['format']}"
    else:
        if not ctype.startswith("multipart/form-data"):
            raise Reject(400, code, f"expected multipart/form-data, got {ctype or 'nothing'}")
        fields, files = _parse_multipart(ctype, raw)
        if "file" not in files:
            raise Reject(400, code, "the file field is required")
        filename, file_type, wav = files["file"]
    if fields.get("model") != model:
        if d.zai:
            raise Reject(400, "1211", f"model {fields.get('model')!r} does not exist")
        raise Reject(404, None, f"The model `{fields.get('model')}` does not exist.")
    if d.max_bytes is not None and len(wav) > d.max_bytes:
        raise Reject(413, code, f"file larger than {d.max_bytes // MB} MB")
    samples, rate = _read_wav(wav, code)
    duration_s = len(samples) / rate
    if d.max_s is not None and duration_s > d.max_s + 1e-6:
        raise Reject(400, code, f"audio longer than {d.max_s:g} seconds ({duration_s:.2f} s)")
    return AudioRequest(fields, wav, filename, file_type, duration_s, samples, rate)


@dataclass(frozen=True)
class Heard:
    """One tone the fake heard: from ``start_s`` to ``end_s`` of the file, at ``hz``."""

    start_s: float
    end_s: float
    hz: int

    @property
    def text(self) -> str:
        return f"tone {self.hz} hertz"


def hear(samples: np.ndarray, rate_hz: int) -> list[Heard]:
    """Every run of loud 0.1 s windows, with its dominant frequency rounded to 10 Hz."""
    window = round(WINDOW_S * rate_hz)
    n = len(samples) // window
    if n == 0:
        return []
    rms = np.sqrt((samples[: n * window].reshape(n, window) ** 2).mean(axis=1))
    loud = rms > TONE_RMS
    heard: list[Heard] = []
    i = 0
    while i < n:
        if not loud[i]:
            i += 1
            continue
        j = i
        while j < n and loud[j]:
            j += 1
        part = samples[i * window : j * window]
        spectrum = np.abs(np.fft.rfft(part))
        hz = float(np.fft.rfftfreq(len(part), 1 / rate_hz)[int(np.argmax(spectrum))])
        heard.append(Heard(round(i * WINDOW_S, 3), round(j * WINDOW_S, 3), int(round(hz, -1))))
        i = j
    return heard


def answer(
    d: AudioDialect, req: AudioRequest, *, model: str, extra_text: str = ""
) -> dict[str, Any]:
    """The service's answer to ``req``: what :func:`hear` heard, in ``d``'s shape."""
    heard = hear(req.samples, req.rate_hz)
    texts = [h.text for h in heard]
    if extra_text:
        texts.append(extra_text)
    text = " ".join(texts)
    if d.zai:
        return {
            "id": f"asr-{int(time.time() * 1000)}",
            "created": int(time.time()),
            "request_id": req.fields.get("request_id") or "fake-request",
            "model": model,
            "text": text,
        }
    if d.text_only or req.fields.get("response_format") != "verbose_json":
        return {"text": text}
    granularity = req.fields.get("timestamp_granularities") or req.fields.get(
        "timestamp_granularities[]"
    )
    asked = set(
        granularity if isinstance(granularity, list) else [granularity] if granularity else []
    )
    segments = []
    for n, h in enumerate(heard):
        seg_text = h.text + (f" {extra_text}" if extra_text and n == len(heard) - 1 else "")
        segments.append(
            {"id": n, "seek": 0, "start": h.start_s, "end": h.end_s, "text": " " + seg_text,
             "tokens": [], "temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0,
             "no_speech_prob": 0.01}
        )  # fmt: skip
    out: dict[str, Any] = {
        "task": "transcribe",
        "language": "english",
        "duration": round(req.duration_s, 3),
        "text": text,
        "segments": segments,
    }
    if "word" in asked:
        words = []
        for h in heard:
            step = (h.end_s - h.start_s) / 3
            for k, word in enumerate(h.text.split()):
                words.append(
                    {"word": word, "start": round(h.start_s + k * step, 3),
                     "end": round(h.start_s + (k + 1) * step, 3)}
                )  # fmt: skip
        out["words"] = words
    if d.name == "openrouter":
        # Modelled on its chat answers: the price of the request in USD.
        out["usage"] = {"cost": round(req.duration_s / 60 * 0.006, 8)}
    return out
