"""The GLM-4.5V adapter: provider dialects as data, pure request/parse functions, an httpx client.

``GlmIndexer`` is registered as ``"glm"`` in :data:`indexers.REGISTRY`. Modules:
``profiles`` (the provider table), ``prompt`` (versioned instructions), ``request`` (request
bodies, token estimates), ``client`` (HTTP, streaming, retries, error mapping), ``parse`` (reply
text -> ClipAnalysis), ``usage`` (usage blocks -> tokens and cost), ``indexer`` (the glue).
"""

from __future__ import annotations

from indexers.glm.indexer import GlmIndexer
from indexers.glm.profiles import PROFILES, ProviderProfile, resolve_profile
from indexers.glm.prompt import PROMPT_VERSION

__all__ = ["PROFILES", "PROMPT_VERSION", "GlmIndexer", "ProviderProfile", "resolve_profile"]
