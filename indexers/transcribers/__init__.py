"""Speech transcribers: audio of a span in, timed segments out (:mod:`indexers.transcribers.base`).

This is the composition root for speech, like :mod:`indexers` for clip indexers: ``TRANSCRIBERS``
maps a name (the ``transcriber`` setting) to a :class:`~indexers.transcribers.base.Transcriber`
subclass, built with the resolved settings (``cls(settings)``); its class attributes say what it
can do, so the core reads them without building one. Built-in entries are added behind guarded
imports, so a module that cannot be imported removes its one entry instead of breaking
``import indexers.transcribers``.

* ``local``: faster-whisper on the CPU (:mod:`indexers.transcribers.local`), the default. Its module
  needs nothing optional to import; when faster-whisper or its model is missing,
  ``check_ready()`` raises :class:`~videoidx.errors.EngineUnavailableError` naming the
  ``pip install`` that fixes it (a plain sentence to show once, not "unknown transcriber").
* ``remote``: an OpenAI-compatible ``audio/transcriptions`` service chosen by
  ``transcribe_provider`` (:mod:`indexers.transcribers.remote`, the services as data in
  :mod:`indexers.transcribers.profiles`).

``transcriber = "none"`` (or ``off``) switches speech off. :func:`open_transcriber` is what a
pipeline calls once per run: the ready transcriber, or None and the sentence to say once.
Plugins add theirs through the ``videoidx.transcribers`` entry-point group.
"""

from __future__ import annotations

from indexers.registry import Registry
from indexers.transcribers.base import SAMPLE_RATE_HZ, Transcriber, Transcript
from videoidx.errors import EngineUnavailableError
from videoidx.settings import TRANSCRIBER_OFF, Settings

PLUGIN_GROUP = "videoidx.transcribers"

TRANSCRIBERS: Registry[Transcriber] = Registry(
    "transcriber",
    Transcriber,
    plugin_group=PLUGIN_GROUP,
    reserved=("none",),
    normalise=lambda name: name.strip().lower(),
)


def register_transcriber(name: str, cls: type[Transcriber]) -> None:
    """Make ``cls`` available as ``transcriber = name`` (used by built-ins and plugins)."""
    TRANSCRIBERS.register(name, cls, caller="register_transcriber")


def speech_off(settings: Settings) -> bool:
    """Whether the settings switch transcription off (``transcriber = "none"``/``"off"``)."""
    return settings.speech.transcriber.strip().lower() in TRANSCRIBER_OFF


def transcriber_class(name: str) -> type[Transcriber]:
    """The class registered as ``name``; ConfigError listing the known names otherwise."""
    return TRANSCRIBERS.get_class(name)


def create_transcriber(settings: Settings) -> Transcriber | None:
    """The transcriber ``settings.speech.transcriber`` names, not yet checked; None when off."""
    if speech_off(settings):
        return None
    return transcriber_class(settings.speech.transcriber)(settings)


def open_transcriber(settings: Settings) -> tuple[Transcriber | None, str]:
    """The configured transcriber, ready (``check_ready`` passed), and ``""``; or None and the
    one plain sentence a run says when speech is off because an engine is unavailable (``""``
    when the settings switch it off). Other configuration errors (a missing key, an unknown
    name, a language the model cannot do) are raised: the user asked for something wrong."""
    transcriber = create_transcriber(settings)
    if transcriber is None:
        return None, ""
    try:
        transcriber.check_ready()
    except EngineUnavailableError as exc:
        transcriber.close()
        return None, str(exc)
    return transcriber, ""


__all__ = [
    "PLUGIN_GROUP",
    "SAMPLE_RATE_HZ",
    "TRANSCRIBERS",
    "Transcriber",
    "Transcript",
    "create_transcriber",
    "open_transcriber",
    "register_transcriber",
    "speech_off",
    "transcriber_class",
]

try:
    from indexers.transcribers.local import LocalTranscriber
except ImportError:  # pragma: no cover - numpy is a hard dependency
    pass
else:
    register_transcriber(LocalTranscriber.name, LocalTranscriber)

try:
    from indexers.transcribers.remote import RemoteTranscriber
except ImportError:  # pragma: no cover - httpx is a hard dependency
    pass
else:
    register_transcriber(RemoteTranscriber.name, RemoteTranscriber)

TRANSCRIBERS.load_plugins()
