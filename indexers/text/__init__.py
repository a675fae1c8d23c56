"""On-screen text readers (OCR engines) and the one place where an engine's name becomes a reader.

``TEXT_READERS`` maps a name to a :class:`~indexers.text.base.TextReader` subclass, built with the
resolved settings (``cls(settings)``). The ``ocr_engine`` setting chooses one:

* ``"auto"`` (the default): the first engine that can run here, by ``auto_rank``: RapidOCR
  (``pip install 'videoidx[ocr]'``, models inside the wheel), else the ``tesseract`` binary;
* a name (``"rapidocr"``, ``"tesseract"``, or a plugin's): that engine only;
* ``"off"``: no on-screen text.

:func:`text_reader_status` says, without loading a model or logging anything, whether on-screen
text will be read and by what, or why not (``videoidx config`` prints it);
:func:`open_text_reader` builds the reader, or returns None when text is off. Neither warns:
the caller that starts a run says :attr:`TextReaderStatus.warning` once (an engine that is
missing is not an error, the run goes on without text; an unknown name is a ConfigError).

Plugins add an engine through the ``videoidx.text_readers`` entry-point group (name = engine
name, value = the class), as indexers do through ``videoidx.indexers``; each built-in engine is
registered behind a guarded import so a broken one drops out instead of breaking the package.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexers.registry import Registry
from indexers.text.base import TextReader
from indexers.text.spans import TextLine, same_text
from videoidx.errors import ConfigError
from videoidx.settings import Settings

PLUGIN_GROUP = "videoidx.text_readers"
AUTO = "auto"
OFF = "off"
OCR_INSTALL = "pip install 'videoidx[ocr]'"
"""The command that makes the default engine available."""

TEXT_READERS: Registry[TextReader] = Registry(
    "ocr_engine", TextReader, plugin_group=PLUGIN_GROUP, reserved=(AUTO, OFF)
)


def register_text_reader(name: str, cls: type[TextReader]) -> None:
    """Make the reader class ``cls`` available as ``ocr_engine = name``."""
    TEXT_READERS.register(name, cls, caller="register_text_reader")


@dataclass(frozen=True)
class TextReaderStatus:
    """Whether on-screen text is read, by which engine, or why not."""

    setting: str
    """The ``ocr_engine`` setting as given."""
    engine: str = ""
    """The engine that reads (a ``TEXT_READERS`` name); empty when text is off."""
    version: str = ""
    reason: str = ""
    """Why text is off, with what to install; empty when it is on or was turned off."""

    @property
    def on(self) -> bool:
        return bool(self.engine)

    @property
    def warning(self) -> str:
        """The one plain sentence a run should say when text is off but was not turned off."""
        return f"on-screen text is not read: {self.reason}" if self.reason else ""

    def describe(self) -> str:
        """One line for ``videoidx config``: ``on (rapidocr: ...)`` or ``off: why``."""
        if self.on:
            return f"on ({self.engine}: {self.version})"
        if self.reason:
            return f"off: {self.reason}"
        return f"off (ocr_engine = {self.setting!r})"


def text_reader_status(settings: Settings) -> TextReaderStatus:
    """Which engine ``settings.provider.ocr_engine`` gives on this machine; ConfigError for a
    name no engine is registered under."""
    setting = settings.provider.ocr_engine.strip().lower() or AUTO
    if setting == OFF:
        return TextReaderStatus(setting)
    if setting == AUTO:
        ranked = sorted(
            (c for c in TEXT_READERS.values() if c.auto_rank is not None),
            key=lambda c: c.auto_rank or 0,
        )
        for cls in ranked:
            if not cls.unavailable_reason():
                return TextReaderStatus(setting, cls.name, cls(settings).version)
        return TextReaderStatus(
            setting,
            reason=f"no OCR engine is installed; install the default one with: {OCR_INSTALL}",
        )
    if setting not in TEXT_READERS:
        known = ", ".join([AUTO, OFF, *sorted(TEXT_READERS)])
        raise ConfigError(f"unknown ocr_engine {setting!r}; choose one of: {known}")
    cls = TEXT_READERS[setting]
    why = cls.unavailable_reason()
    if why:
        return TextReaderStatus(setting, reason=f"ocr_engine is {setting!r}, but {why}")
    return TextReaderStatus(setting, cls.name, cls(settings).version)


def open_text_reader(settings: Settings) -> TextReader | None:
    """The reader ``settings`` choose, or None when on-screen text is off (see the status)."""
    status = text_reader_status(settings)
    return TEXT_READERS[status.engine](settings) if status.on else None


__all__ = [
    "AUTO",
    "OCR_INSTALL",
    "OFF",
    "PLUGIN_GROUP",
    "TEXT_READERS",
    "TextLine",
    "TextReader",
    "TextReaderStatus",
    "open_text_reader",
    "register_text_reader",
    "same_text",
    "text_reader_status",
]

# Guarded: the engines import nothing optional at module level (the OCR package is imported
# when first asked for), but a broken one must still only remove itself.
try:
    from indexers.text.rapid import RapidOcrReader
except ImportError:  # pragma: no cover - numpy and Pillow are hard dependencies
    pass
else:
    register_text_reader(RapidOcrReader.name, RapidOcrReader)

try:
    from indexers.text.tesseract import TesseractReader
except ImportError:  # pragma: no cover
    pass
else:
    register_text_reader(TesseractReader.name, TesseractReader)

TEXT_READERS.load_plugins("OCR plugin")
