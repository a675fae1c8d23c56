"""Model adapters that turn a :class:`~videoidx.types.ClipInput` into a ClipAnalysis.

This package is the composition root: the one place where an indexer's name becomes an
indexer. ``REGISTRY`` maps a name to an :class:`~indexers.base.Indexer` subclass, built with the
resolved :class:`~videoidx.settings.Settings` (``cls(settings)``); its class attributes say what
it can do (see :mod:`indexers.base`), so the core reads them without building one. Each built-in
entry is added behind a guarded import, so an adapter whose optional dependency is missing
disappears from the registry instead of breaking ``import indexers`` (the PySceneDetect backend
pattern).

Plugins: an installed package adds its own indexer through the ``videoidx.indexers`` entry-point
group, the entry point's name being the indexer's name and its value the class::

    [project.entry-points."videoidx.indexers"]
    echo = "videoidx_echo:EchoIndexer"

It is then available everywhere a name is taken (``--indexer echo``, the page's indexer list,
``videoidx.resolve_settings({"indexer": "echo"})``). A plugin that fails to load is skipped with a
warning, and one cannot replace a built-in name. In-process code may call :func:`register`.

Speech transcribers have their own registry in :mod:`indexers.transcribers` (the ``transcriber``
setting), text embedders theirs in :mod:`indexers.embedders` (the ``embedder`` setting); the
names the core needs (:class:`Transcriber`, :class:`Transcript`, :func:`open_transcriber`,
:func:`create_transcriber`, ``TRANSCRIBERS``, :class:`Embedder`, :func:`open_embedder`, ...) are
re-exported here, so the core imports them from ``indexers`` and never names an adapter. All
registries are one generic :class:`~indexers.registry.Registry`.
"""

from __future__ import annotations

from indexers.base import Indexer, ProviderOption
from indexers.registry import Registry
from videoidx.settings import Settings

PLUGIN_GROUP = "videoidx.indexers"
"""The entry-point group installed packages register their indexers in."""

REGISTRY: Registry[Indexer] = Registry("indexer", Indexer, plugin_group=PLUGIN_GROUP)


def register(name: str, cls: type[Indexer]) -> None:
    """Make the indexer class ``cls`` available under ``name`` (used by adapters and plugins)."""
    REGISTRY.register(name, cls)


def indexer_class(name: str) -> type[Indexer]:
    """The class registered as ``name``; ConfigError listing the known names otherwise."""
    return REGISTRY.get_class(name)


def create_indexer(settings: Settings, name: str | None = None) -> Indexer:
    """Build the indexer named by ``name`` or by ``settings.provider.indexer``."""
    return indexer_class(name or settings.provider.indexer)(settings)


__all__ = [
    "EMBEDDERS",
    "PLUGIN_GROUP",
    "REGISTRY",
    "TRANSCRIBERS",
    "Embedder",
    "EmbedderStatus",
    "Indexer",
    "ProviderOption",
    "Transcriber",
    "Transcript",
    "create_indexer",
    "create_transcriber",
    "embedder_status",
    "indexer_class",
    "open_embedder",
    "open_transcriber",
    "register",
    "register_transcriber",
    "transcriber_class",
]


# The embedded offline indexer (the default); guarded like every adapter so a broken optional
# piece removes one entry instead of breaking ``import indexers``.
try:
    from indexers.local import LocalIndexer
except ImportError:  # pragma: no cover - its dependencies (numpy, ffmpeg) are hard ones
    pass
else:
    register(LocalIndexer.name, LocalIndexer)

# Guarded: an adapter whose dependencies are missing drops out of the registry, nothing more.
try:
    from indexers.glm import GlmIndexer
except ImportError:  # pragma: no cover - httpx or Pillow missing
    pass
else:
    register(GlmIndexer.name, GlmIndexer)

# Speech transcribers: their own registry (its built-ins guarded the same way).
# Text embedders for semantic search: their own registry, like the transcribers'.
from indexers.embedders import (  # noqa: E402 - after the indexers, as their registry
    EMBEDDERS,
    Embedder,
    EmbedderStatus,
    embedder_status,
    open_embedder,
)
from indexers.transcribers import (  # noqa: E402 - after the indexers, as their registry
    TRANSCRIBERS,
    Transcriber,
    Transcript,
    create_transcriber,
    open_transcriber,
    register_transcriber,
    transcriber_class,
)

REGISTRY.load_plugins()
