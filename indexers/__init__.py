"""Model adapters that turn a :class:`~videoidx.types.ClipInput` into a ClipAnalysis.

``REGISTRY`` maps an indexer name to a factory taking the resolved
:class:`~videoidx.settings.Settings`. Each entry is added behind a guarded import, so an adapter
whose optional dependency is missing disappears from the registry instead of breaking
``import indexers`` (the PySceneDetect backend pattern).
"""

from __future__ import annotations

from collections.abc import Callable

from indexers.base import Indexer
from videoidx.errors import ConfigError
from videoidx.settings import Settings

IndexerFactory = Callable[[Settings], Indexer]

REGISTRY: dict[str, IndexerFactory] = {}


def register(name: str, factory: IndexerFactory) -> None:
    """Make an indexer available under ``name`` (used by adapters and by plugins)."""
    REGISTRY[name] = factory


def create_indexer(settings: Settings, name: str | None = None) -> Indexer:
    """Build the indexer named by ``name`` or by ``settings.provider.indexer``."""
    chosen = name or settings.provider.indexer
    try:
        factory = REGISTRY[chosen]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "(none)"
        raise ConfigError(f"unknown indexer {chosen!r}; choose one of: {known}") from None
    return factory(settings)


# The embedded offline indexer (the default); guarded like every adapter so a broken optional
# piece removes one entry instead of breaking ``import indexers``.
try:
    from indexers.local import LocalIndexer
except ImportError:  # pragma: no cover - its dependencies (numpy, ffmpeg) are hard ones
    pass
else:
    register("local", lambda settings: LocalIndexer(settings))


__all__ = ["REGISTRY", "Indexer", "IndexerFactory", "create_indexer", "register"]


# Guarded: an adapter whose dependencies are missing drops out of the registry, nothing more.
try:
    from indexers.glm import GlmIndexer
except ImportError:  # pragma: no cover - httpx or Pillow missing
    pass
else:
    register("glm", GlmIndexer)
